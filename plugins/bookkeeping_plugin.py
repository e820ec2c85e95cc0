"""Airflow loads this file from the plugins folder; the package itself is skipped (see .airflowignore)."""

from prestashop_eboekhouden.ui.plugin import BookkeepingPlugin

__all__ = ["BookkeepingPlugin"]
