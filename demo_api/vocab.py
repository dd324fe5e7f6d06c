"""Word lists the generator draws from (fictional; some names are non-ASCII on purpose)."""

from __future__ import annotations

INDUSTRIES: tuple[str, ...] = (
    "Technology",
    "Healthcare",
    "Finance",
    "Retail",
    "Manufacturing",
    "Education",
    "Energy",
    "Media",
)

CONTACT_STATUSES: tuple[str, ...] = ("lead", "prospect", "customer", "churned")
# Weighted draw table for generated contacts (more leads than churned customers).
CONTACT_STATUS_WEIGHTED: tuple[str, ...] = ("lead",) * 4 + ("prospect",) * 3 + ("customer",) * 4 + ("churned",) * 1

DEAL_STAGES: tuple[str, ...] = (
    "prospecting",
    "qualification",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
)
STAGE_PROBABILITY: dict[str, float] = {
    "prospecting": 0.1,
    "qualification": 0.2,
    "proposal": 0.5,
    "negotiation": 0.75,
    "closed_won": 1.0,
    "closed_lost": 0.0,
}

CURRENCIES: tuple[str, ...] = ("USD",) * 6 + ("EUR",) * 2 + ("GBP", "JPY", "CAD", "AUD")

ACTIVITY_TYPES: tuple[str, ...] = ("call", "email", "meeting", "note")

COMPANY_FIRST: tuple[str, ...] = (
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Acme",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Oscorp",
    "Aperture",
    "Black Mesa",
    "Blue Sun",
    "Müller",
    "Société Lumière",
    "Nakatomi",
    "Øresund",
    "São Paulo",
    "Zürich",
    "Kowalczyk",
    "Yoyodyne",
    "Gringotts",
    "Monarch",
    "Pied Piper",
    "Dunder",
    "Bluth",
)
COMPANY_SECOND: tuple[str, ...] = (
    "Analytics",
    "Systems",
    "Logistik",
    "Holdings",
    "Labs",
    "Foods",
    "Energy",
    "Media",
    "Health",
    "Partners",
    "Robotics",
    "Trading",
    "Software",
    "Capital",
    "Industries",
    "Retail",
)
COMPANY_SUFFIX: tuple[str, ...] = ("", "", "", " Inc.", " Ltd", " GmbH", " S.A.", " K.K.", " LLC", " AG")

FIRST_NAMES: tuple[str, ...] = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "José",
    "María",
    "Zoë",
    "Łukasz",
    "Søren",
    "François",
    "Anaïs",
    "Jürgen",
    "Ana María",
    "Hiroshi",
    "Yuki",
    "Priya",
    "Arjun",
    "Chen",
    "Olufemi",
    "Fatima",
    "Mohammed",
    "Ingrid",
    "Siobhán",
    "Björn",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "García",
    "Miller",
    "Davis",
    "Rodríguez",
    "Martínez",
    "Müller",
    "Schmidt",
    "O'Brien",
    "Nguyễn",
    "Kowalski",
    "Tanaka",
    "Suzuki",
    "Patel",
    "Okafor",
    "Dubois",
    "Rossi",
    "Andersson",
    "Van der Berg",
    "Ivanova",
    "Haddad",
    "Kim",
    "Lee",
    "Wang",
    "Silva",
    "Nørgaard",
)
EMAIL_DOMAINS: tuple[str, ...] = (
    "example.com",
    "example.org",
    "mail.example.net",
    "corp.example",
    "exemple.fr",
    "beispiel.de",
)

# (city, ISO country code, postal code pattern: '9' = digit, 'A' = letter, anything else literal)
CITIES: tuple[tuple[str, str, str], ...] = (
    ("New York", "US", "99999"),
    ("San Francisco", "US", "99999"),
    ("Austin", "US", "99999"),
    ("Chicago", "US", "99999"),
    ("London", "GB", "A9 9AA"),
    ("Manchester", "GB", "A99 9AA"),
    ("Berlin", "DE", "99999"),
    ("München", "DE", "99999"),
    ("Paris", "FR", "99999"),
    ("Lyon", "FR", "99999"),
    ("Tokyo", "JP", "999-9999"),
    ("Osaka", "JP", "999-9999"),
    ("Toronto", "CA", "A9A 9A9"),
    ("São Paulo", "BR", "99999-999"),
    ("Bengaluru", "IN", "999999"),
    ("Sydney", "AU", "9999"),
    ("Amsterdam", "NL", "9999 AA"),
    ("Kraków", "PL", "99-999"),
    ("Zürich", "CH", "9999"),
    ("Lagos", "NG", "999999"),
)
STREETS: dict[str, tuple[str, ...]] = {
    "US": ("{n} Main St", "{n} Market Street", "{n} Congress Ave", "{n} Oak Lane, Suite {m}"),
    "GB": ("{n} High Street", "{n} King's Road", "Flat {m}, {n} Baker Street"),
    "DE": ("Hauptstraße {n}", "Königsallee {n}", "Friedrichstraße {n}"),
    "FR": ("{n} rue de la Paix", "{n} avenue des Champs-Élysées", "{n} boulevard Saint-Germain"),
    "JP": ("{n}-{m} Marunouchi, Chiyoda-ku", "{n}-{m} Umeda, Kita-ku"),
    "CA": ("{n} Yonge Street", "{n} Queen St W"),
    "BR": ("Avenida Paulista, {n}", "Rua Augusta, {n}"),
    "IN": ("{n} MG Road", "{n} Brigade Road"),
    "AU": ("{n} George Street", "{n} Pitt Street"),
    "NL": ("Damrak {n}", "Keizersgracht {n}"),
    "PL": ("ul. Floriańska {n}", "ul. Długa {n}"),
    "CH": ("Bahnhofstrasse {n}", "Limmatquai {n}"),
    "NG": ("{n} Awolowo Road", "{n} Adeola Odeku Street"),
}
PHONE_PREFIX: dict[str, str] = {
    "US": "+1",
    "GB": "+44",
    "DE": "+49",
    "FR": "+33",
    "JP": "+81",
    "CA": "+1",
    "BR": "+55",
    "IN": "+91",
    "AU": "+61",
    "NL": "+31",
    "PL": "+48",
    "CH": "+41",
    "NG": "+234",
}

TAGS: tuple[str, ...] = (
    "enterprise",
    "smb",
    "partner",
    "churn-risk",
    "vip",
    "beta",
    "emea",
    "apac",
    "amer",
    "strategic",
    "newsletter",
    "trial",
)
LEAD_SOURCES: tuple[str, ...] = ("web", "referral", "event", "cold_outreach", "partner", "import")
SEGMENTS: tuple[str, ...] = ("enterprise", "mid_market", "smb", "public_sector")
TEAMS: tuple[str, ...] = ("Sales EMEA", "Sales AMER", "Sales APAC", "Customer Success", "Partnerships")

# (sku, product name, unit price in cents)
PRODUCTS: tuple[tuple[str, str, int], ...] = (
    ("SKU-ANL-100", "Analytics Suite", 19_900),
    ("SKU-ANL-200", "Analytics Suite Pro", 49_900),
    ("SKU-DP-010", "Data Platform", 125_000),
    ("SKU-SUP-001", "Premium Support", 7_500),
    ("SKU-TRN-005", "Training Day", 150_000),
    ("SKU-SEAT-01", "Additional Seat", 2_999),
    ("SKU-API-1M", "API Calls (1M)", 45_050),
    ("SKU-STO-1T", "Storage (1 TB)", 1_234),
)
DEAL_KINDS: tuple[str, ...] = ("renewal", "expansion", "new business", "pilot", "upgrade")
COMPETITORS: tuple[str, ...] = ("Globex", "Initech", "Hooli", "Vandelay", "none")
FORECAST: tuple[str, ...] = ("pipeline", "best_case", "commit", "omitted")
REGIONS: tuple[str, ...] = ("EMEA", "AMER", "APAC", "LATAM")

ACTIVITY_SUBJECTS: dict[str, tuple[str, ...]] = {
    "call": ("Intro call", "Discovery call", "Follow-up call", "Pricing discussion", "Renewal check-in"),
    "email": ("Re: Pricing question", "Proposal attached", "Meeting recap", "Welcome aboard!", "Quick question"),
    "meeting": ("Quarterly business review", "Product demo", "On-site workshop", "Contract negotiation"),
    "note": ("Call notes", "Champion identified", "Budget approved \N{EN DASH} next steps", "Risk: competitor"),
}
CALL_OUTCOMES: tuple[str, ...] = ("connected", "voicemail", "no_answer", "busy")
MEETING_LOCATIONS: tuple[str, ...] = ("Zoom", "Teams", "Customer office", "HQ \N{EN DASH} Room 4.01", "Café Central")
# Minutes east of UTC used for activity timestamps (0 is rendered as 'Z').
UTC_OFFSETS: tuple[int, ...] = (0, 0, 0, 0, 120, 60, -300, -240, 330, 540, -180, 600)
