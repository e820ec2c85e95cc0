"""The integration's steps as plain functions (extract, validate, book, pay, recheck, report).

They wire hooks, the pure domain and the state store together and hold no Airflow; the operator
classes in ``operators/`` call them."""
