"""Who the demo is about — plain data, no database: the demo seed (cabinets.demo) and the test PKI
(signing.pki, whose key files carry these BINs and names) read the same organizations."""

# BINs from the manuals (seed 002/003); both pass the check-digit rule (cabinets/iin.py).
DEMO_COMPANY_BIN = "160340003066"
DEMO_DEVELOPER_BIN = "150240008272"

# The emulated state registry: (BIN, name ru, name kk, legal address).
REGISTRY = [
    (DEMO_COMPANY_BIN, "ТОО «Демо Уполномоченная Компания»", "«Демо Уәкілетті Компания» ЖШС", "г. Астана, ул. Достык, 13"),
    (DEMO_DEVELOPER_BIN, "ТОО «Демо Застройщик»", "«Демо Құрылыс салушы» ЖШС", "г. Алматы, пр. Абая, 1"),
]
