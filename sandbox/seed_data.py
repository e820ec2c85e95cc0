"""Word lists for the seeded shop: products, names, streets and cities per country, and the books' ledgers."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple


class Product(NamedTuple):
    """A catalogue product: its Dutch VAT rate and either the price with VAT or (six decimals) without."""

    sku: str
    name: str
    rate: Decimal
    price_incl: Decimal | None = None
    price_excl: Decimal | None = None


def _p(sku: str, name: str, rate: str, incl: str | None = None, excl: str | None = None) -> Product:
    """A product row."""
    return Product(sku, name, Decimal(rate), Decimal(incl) if incl else None, Decimal(excl) if excl else None)


CATALOGUE = (
    _p("THP-GJ12", "Theepot gietijzer 1,2 L", "21", "34.95"),
    _p("WK-1L", "Waterkoker 1 L", "21", "49.95"),
    _p("TGL-6", "Theeglazen (set van 6)", "21", "19.95"),
    _p("INF-RVS", "Thee-ei RVS", "21", "4.95"),
    _p("TIN-3", "Theeblikken (set van 3)", "21", "12.95"),
    _p("KOP-WIT", "Kop en schotel wit", "21", "7.50"),
    _p("THERM-1L", "Thermoskan 1 L", "21", "24.99"),
    _p("MAT-SET", "Matcha set compleet", "21", excl="41.314050"),
    _p("TAF-EIK", "Theetafel eiken", "21", excl="247.933884"),
    _p("EG-100", "Earl Grey losse thee 100 g", "9", "6.95"),
    _p("SEN-100", "Sencha biologisch 100 g", "9", "8.49"),
    _p("ROO-100", "Rooibos vanille 100 g", "9", "5.95"),
    _p("HON-450", "Bloemenhoning 450 g", "9", "7.25"),
    _p("SWF-8", "Stroopwafels (8 stuks)", "9", "3.29"),
    _p("BOEK-THEE", "Boek: Het Theeboek", "9", "24.99"),
    _p("CB-25", "Cadeaubon € 25", "0", "25.00"),
)
IMPORTED_PRODUCT = _p("THE-VERT-FR", "Thé vert de Chine (import) 100 g", "5.5", "6.40")
# Dutch rate → the rate another country charges for the same product (OSS / foreign VAT).
FOREIGN_RATES = {
    "DE": {Decimal("21"): Decimal("19"), Decimal("9"): Decimal("7"), Decimal("0"): Decimal("0")},
    "FR": {Decimal("21"): Decimal("20"), Decimal("9"): Decimal("5.5"), Decimal("0"): Decimal("0")},
}

FIRST_NAMES = {
    "NL": (
        "Jan",
        "Sanne",
        "Pieter",
        "Lotte",
        "Daan",
        "Femke",
        "Bram",
        "Eva",
        "Joris",
        "Anouk",
        "Thijs",
        "Noor",
        "Ruben",
        "Iris",
        "Sem",
        "Zoë",
        "Wouter",
        "Marloes",
        "Bas",
        "Mirjam",
    ),
    "BE": ("Wout", "Lien", "Arne", "Elke", "Jens", "Leen", "Koen", "Sofie"),
    "DE": ("Jürgen", "Anja", "Lukas", "Katrin", "Felix", "Sabine", "Jonas", "Ute"),
    "FR": ("Camille", "Lucas", "Élodie", "Hugo", "Margaux", "Théo"),
    "US": ("Emily", "Jacob", "Olivia", "Michael"),
    "GB": ("Oliver", "Amelia", "Harry", "Isla"),
    "CH": ("Reto", "Seraina", "Urs", "Ladina"),
}
LAST_NAMES = {
    "NL": (
        "de Jong",
        "Jansen",
        "de Vries",
        "van den Berg",
        "Bakker",
        "Visser",
        "Smit",
        "Meijer",
        "de Boer",
        "Mulder",
        "Bos",
        "Vos",
        "Peters",
        "Hendriks",
        "van Dijk",
        "Dekker",
        "Brouwer",
        "van Leeuwen",
    ),
    "BE": ("Peeters", "Janssens", "Maes", "Jacobs", "Willems", "Claes", "Goossens", "Wouters"),
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"),
    "FR": ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent"),
    "US": ("Smith", "Johnson", "Williams", "Brown"),
    "GB": ("Taylor", "Davies", "Evans", "Wilson"),
    "CH": ("Meier", "Brunner", "Keller", "Gerber"),
}
COMPANY_WORDS = {
    "NL": ("Theehuis", "Koffie & Co", "Lunchroom", "Kantoorservice", "Hotel", "Zorggroep", "Bloemenwinkel", "Administratiekantoor"),
    "BE": ("Theesalon", "Brasserie", "Bvba Horeca", "Cateringdienst"),
    "DE": ("Teehaus", "Café", "Feinkost GmbH", "Hotelbetriebe"),
    "FR": ("Salon de thé", "Épicerie fine", "Hôtel", "Café"),
    "US": ("Tea Company", "Coffee Roasters"),
    "GB": ("Tea Rooms Ltd", "Catering Ltd"),
    "CH": ("Teestube AG", "Confiserie"),
}
COMPANY_PLACES = ("Het Zuiden", "De Linde", "Centraal", "Aan Zee", "De Molen", "Noord", "Am Markt", "du Port", "Hill", "Bergblick")
CITIES = {
    "NL": (
        ("Amsterdam", "1017"),
        ("Rotterdam", "3011"),
        ("Utrecht", "3511"),
        ("Den Haag", "2511"),
        ("Groningen", "9711"),
        ("Eindhoven", "5611"),
        ("Zwolle", "8011"),
        ("Haarlem", "2011"),
        ("Leiden", "2311"),
        ("Maastricht", "6211"),
    ),
    "BE": (("Antwerpen", "2000"), ("Gent", "9000"), ("Leuven", "3000"), ("Brugge", "8000")),
    "DE": (("Köln", "50667"), ("Düsseldorf", "40213"), ("Berlin", "10115"), ("Hamburg", "20095"), ("München", "80331")),
    "FR": (("Lille", "59000"), ("Paris", "75002"), ("Lyon", "69002")),
    "US": (("New York, NY", "10001"), ("Portland, OR", "97201")),
    "GB": (("London", "EC1A 1BB"), ("Bristol", "BS1 4DJ")),
    "CH": (("Zürich", "8001"), ("Bern", "3011")),
}
STREETS = {
    "NL": ("Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg", "Nieuwe Gracht", "Beukenlaan", "Schoolstraat", "Markt"),
    "BE": ("Kerkstraat", "Stationsstraat", "Meir", "Veldstraat"),
    "DE": ("Hauptstraße", "Schulstraße", "Bahnhofstraße", "Gartenweg"),
    "FR": ("Rue de la Paix", "Rue Nationale", "Avenue Foch"),
    "US": ("Main Street", "Oak Avenue", "5th Avenue"),
    "GB": ("High Street", "Station Road", "Church Lane"),
    "CH": ("Bahnhofstrasse", "Dorfstrasse", "Seestrasse"),
}
PHONE_PREFIX = {"NL": "+31 6 ", "BE": "+32 470 ", "DE": "+49 151 ", "FR": "+33 6 ", "US": "+1 503 ", "GB": "+44 7700 ", "CH": "+41 79 "}
EMAIL_DOMAINS = {
    "NL": "example.nl",
    "BE": "example.be",
    "DE": "example.de",
    "FR": "example.fr",
    "US": "example.com",
    "GB": "example.co.uk",
    "CH": "example.ch",
}
LONG_NAMES = (
    ("Maximiliaan Alexander", "van Oldenbarnevelt tot Rijckevorsel-Hoogstraten", ""),
    ("Anne-Marie", "Vermeulen", "Stichting Vrienden van het Nederlands Openluchtmuseum te Arnhem"),
)

# e-Boekhouden: (id, code, description, category, group). Ids deliberately differ from codes.
LEDGERS = (
    (2401, "0100", "Inventaris", "BAL", "Vaste activa"),
    (2402, "1000", "Kas", "FIN", "Liquide middelen"),
    (2403, "1100", "Bank", "FIN", "Liquide middelen"),
    (2404, "1110", "Mollie", "FIN", "Liquide middelen"),
    (2405, "1120", "Stripe", "FIN", "Liquide middelen"),
    (2406, "1300", "Debiteuren", "DEB", "Vorderingen"),
    (2407, "1500", "Te betalen btw hoog", "BAL", "Btw"),
    (2408, "1510", "Te betalen btw laag", "BAL", "Btw"),
    (2409, "1630", "Te betalen btw OSS", "BAL", "Btw"),
    (2410, "1600", "Crediteuren", "CRED", "Schulden"),
    (2411, "4000", "Inkoopkosten", "VW", "Kosten"),
    (2412, "4500", "Bankkosten", "VW", "Kosten"),
    (2413, "8000", "Omzet hoog", "VW", "Omzet"),
    (2414, "8010", "Omzet laag", "VW", "Omzet"),
    (2415, "8020", "Omzet geen btw", "VW", "Omzet"),
    (2416, "8100", "Omzet ICP", "VW", "Omzet"),
    (2417, "8200", "Omzet export", "VW", "Omzet"),
    (2418, "8300", "Omzet OSS", "VW", "Omzet"),
    (2419, "8990", "Afrondingsverschillen", "VW", "Omzet"),  # PrestaShop's rounding differences (tenant file rounding.ledger)
)
INVOICE_TEMPLATES = ((7001, "Invoice template", True), (7002, "Factuur zonder logo", True), (7003, "Oud sjabloon", False))
# Relations whose codes share the base KlaartjePi, with other people's e-mail addresses.
KLAARTJE_RELATIONS = (
    ("KlaartjePi", "Klaartje Pinkster", "k.pinkster@example.org"),
    ("KlaartjePi1", "Klaartje Pinas", "klaartje.pinas@example.org"),
    ("KlaartjePi2", "Klaartje Pieterse", "kpieterse@example.org"),
    ("KlaartjePi3", "Klaartje Pijnappel", "pijnappel@example.org"),
    ("KlaartjePi4", "Klaartje Pietersen-Bos", "bos.klaartje@example.org"),
)
