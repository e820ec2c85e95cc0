"""Debtor resolution and adoption against an in-memory e-Boekhouden that answers like the official contract:
thin relation list items, mutation list items whose amount means nothing to us, ids that may be 0."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import pytest

from prestashop_eboekhouden.contract.eboekhouden import OUTCOMES, meaning_of
from prestashop_eboekhouden.domain.relations import Debtor
from prestashop_eboekhouden.hooks.base import ApiError
from prestashop_eboekhouden.hooks.eboekhouden import whole_sales
from prestashop_eboekhouden.hooks.protocol import BULK_THRESHOLD
from prestashop_eboekhouden.pipeline.booking import BookOutcome, DebtorResolver, SaleBooker
from prestashop_eboekhouden.store import StateStore


class Books:
    """What the booking code asks of e-Boekhouden, answered the way the official description has it."""

    def __init__(self) -> None:
        self.requests_made: Counter = Counter()
        self.relations_: dict[int, dict] = {}
        self.mutations_: dict[int, dict] = {}
        self.ids_zero = False
        self.open_items = True

    def add_relation(self, code: str, email: str) -> int:
        relation_id = 1000 + len(self.relations_) + 1
        self.relations_[relation_id] = {"id": relation_id, "type": "P", "code": code, "emailAddress": email}
        return relation_id

    def relation_by_email(self, email: str) -> dict | None:
        self.requests_made["GET v1/relation?email"] += 1
        found = [r for r in self.relations_.values() if r["emailAddress"].casefold() == email.casefold()]
        return {k: found[0][k] for k in ("id", "type", "code")} if found else None

    def relation_codes_like(self, base: str) -> list[str]:
        self.requests_made["GET v1/relation?code[like]"] += 1
        return [r["code"] for r in self.relations_.values() if r["code"].casefold().startswith(base.casefold())]

    def relations(self):
        self.requests_made["GET v1/relation"] += 1
        return iter([{k: r[k] for k in ("id", "type", "code")} for r in self.relations_.values()])

    def create_relation(self, payload: dict) -> dict:
        self.requests_made["POST v1/relation"] += 1
        if any(r["code"].casefold() == payload["code"].casefold() for r in self.relations_.values()):
            raise ApiError(400, "REL_049", "Code already exists.", meaning=meaning_of("REL_049"))
        relation_id = self.add_relation(payload["code"], payload.get("emailAddress", ""))
        return {"id": relation_id, "code": payload["code"]}

    def add_sale(self, number: str, relation_id: int, date: str) -> int:
        mutation_id = len(self.mutations_) + 1
        self.mutations_[mutation_id] = {"id": mutation_id, "type": 2, "date": date, "invoiceNumber": number, "relationId": relation_id,
                                        "ledgerId": 1, "inExVat": "IN", "rows": [{"amount": 12.1, "vatCode": "HOOG_VERK_21"}]}  # fmt: skip
        return mutation_id

    def mutations_by_invoice_number(self, number: str, mutation_type: int | None = None) -> list[dict]:
        self.requests_made["GET v1/mutation?invoiceNumber"] += 1
        return [
            {"id": 0 if self.ids_zero else m["id"], "type": m["type"], "date": m["date"], "invoiceNumber": number, "ledgerId": 1, "amount": 0}
            for m in self.mutations_.values() if m["invoiceNumber"] == number and m["type"] == (mutation_type or m["type"])
        ]  # fmt: skip

    def mutation(self, mutation_id: int) -> dict:
        self.requests_made["GET v1/mutation/{id}"] += 1
        return dict(self.mutations_[mutation_id])

    def sales_by_number(self, number: str, around: dt.date | None = None) -> list[dict]:
        """Whole sales, as the REST hook makes them from these thin list items."""
        return whole_sales(self.mutations_by_invoice_number(number, 2), lambda: self.outstanding(number), self.mutation)

    def outstanding(self, number: str) -> list[dict]:
        self.requests_made["GET v1/mutation/invoice/outstanding"] += 1
        if not self.open_items:
            return []
        return [{"mutationId": m["id"], "invoiceNumber": number, "relationId": m["relationId"], "date": m["date"]}
                for m in self.mutations_.values() if m["invoiceNumber"] == number]  # fmt: skip


def debtor(email: str = "Klaartje@Example.NL", base: str = "KlaartjePi") -> Debtor:
    return Debtor(email=email, name="Klaartje Pietersen", contact="", type="P", code_base=base, address="", postcode="", city="", country="NL", phone="", vat_number="")


@pytest.fixture
def store(tmp_path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


CONFIG = SimpleNamespace(tenant="t", eboekhouden=SimpleNamespace(book_as="mutation"))


def resolver(books: Books, store: StateStore) -> DebtorResolver:
    return DebtorResolver(CONFIG, books, store, BookOutcome())


def test_a_new_debtor_is_created_with_the_next_free_code_and_then_costs_no_request(store):
    books = Books()
    books.add_relation("KlaartjePi", "other@example.nl")
    relation_id, code = resolver(books, store).resolve(debtor())
    assert code == "KlaartjePi1" and books.requests_made == Counter(
        {"GET v1/relation?email": 2, "GET v1/relation?code[like]": 1, "POST v1/relation": 1}  # e-mail as spelled, then lower case
    )
    books.requests_made.clear()
    assert resolver(books, store).resolve(debtor()) == (relation_id, "KlaartjePi1")  # remembered in the store
    assert books.requests_made == Counter()


def test_a_returning_customer_new_to_the_store_costs_one_lookup(store):
    books = Books()
    known = books.add_relation("KlaartjePi", "klaartje@example.nl")
    assert resolver(books, store).resolve(debtor("klaartje@example.nl")) == (known, "KlaartjePi")
    assert books.requests_made == Counter({"GET v1/relation?email": 1})
    assert store.known_relations("t", ["klaartje@example.nl"])["klaartje@example.nl"]["relation_id"] == known


def test_many_unknown_debtors_list_all_codes_once_instead_of_one_code_lookup_each(store):
    books = Books()
    books.add_relation("KlaartjePi", "first@example.nl")
    debtors = [debtor(f"new{i}@example.nl") for i in range(BULK_THRESHOLD)]
    resolve = resolver(books, store)
    resolve.prepare(debtors)
    codes = [resolve.resolve(d)[1] for d in debtors]
    assert codes == ["KlaartjePi"[:10] + str(i) for i in range(1, BULK_THRESHOLD + 1)]
    assert books.requests_made["GET v1/relation"] == 1 and books.requests_made["GET v1/relation?code[like]"] == 0


def test_a_remembered_relation_that_is_gone_is_forgotten_and_resolved_again(store):
    books = Books()
    store.remember_relation("t", "klaartje@example.nl", 4242, "KlaartjePi", False)  # deleted by the bookkeeper since
    resolve = resolver(books, store)
    assert resolve.resolve(debtor()) == (4242, "KlaartjePi")
    assert {code for code, outcome in OUTCOMES.items() if outcome == "relation_gone"} == {"MUT_013", "MUT_113", "FACT_002"}
    resolve.forget(debtor())
    relation_id, code = resolve.resolve(debtor())
    assert relation_id in books.relations_ and code == "KlaartjePi"


def booker(books: Books, store: StateStore) -> SaleBooker:
    return SaleBooker(CONFIG, books, store, "owner")


PLAN = SimpleNamespace(sales_number="DEMO-1041", date=dt.date(2026, 11, 20))


@pytest.mark.parametrize("ids_zero", [False, True])
def test_the_same_debtor_and_date_is_this_sale_whatever_the_list_items_amount(store, ids_zero):
    books = Books()
    mine = books.add_relation("KlaartjePi", "k@example.nl")
    books.add_sale("DEMO-1041", mine, "2026-11-20")
    books.ids_zero = ids_zero
    found = booker(books, store).find_existing(PLAN, (mine, "KlaartjePi"))
    assert found["id"] == 1 and found["relationId"] == mine and found["kind"] == "mutation"
    assert books.requests_made["GET v1/mutation/{id}"] == 1  # decided from the full object


@pytest.mark.parametrize(("relation", "date"), [("other", "2026-11-20"), ("mine", "2026-10-01")])
def test_another_debtor_or_date_is_a_clash(store, relation, date):
    books = Books()
    mine, other = books.add_relation("KlaartjePi", "k@example.nl"), books.add_relation("Other", "o@example.nl")
    books.add_sale("DEMO-1041", other if relation == "other" else mine, date)
    with pytest.raises(ApiError) as caught:
        booker(books, store).find_existing(PLAN, (mine, "KlaartjePi"))
    assert caught.value.code == "DUPLICATE_NUMBER" and "sales_number_prefix" in caught.value.reason


@pytest.mark.parametrize(("date", "adopted"), [("2026-11-20", True), ("2026-10-01", False)])
def test_an_item_without_id_and_no_open_item_is_in_doubt_and_decided_on_its_date(store, date, adopted):
    books = Books()
    mine = books.add_relation("KlaartjePi", "k@example.nl")
    books.add_sale("DEMO-1041", mine, date)
    books.ids_zero, books.open_items = True, False  # listed without id, and already paid: nothing to read it by
    if adopted:
        assert booker(books, store).find_existing(PLAN, (mine, "KlaartjePi"))["in_doubt"] is True
    else:
        with pytest.raises(ApiError, match="DUPLICATE_NUMBER|already exists"):
            booker(books, store).find_existing(PLAN, (mine, "KlaartjePi"))
    assert books.requests_made["GET v1/mutation/{id}"] == 0


def test_a_relation_listed_without_an_id_is_a_clear_refusal_not_a_new_debtor(store):
    books = Books()
    books.add_relation("KlaartjePi", "klaartje@example.nl")
    books.relation_by_email = lambda email: {"id": 0, "type": "P", "code": "KlaartjePi"}
    with pytest.raises(ApiError, match="without an id"):
        resolver(books, store).resolve(debtor())
    assert books.requests_made["POST v1/relation"] == 0
