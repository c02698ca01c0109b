"""Receipts from tills the generic layout has no layout for, printed by python-escpos.

Each ``Till`` is one receipt as a till would print it: a centred header, columns padded with
spaces, the total bold and double height, a cut. ``capture`` plays the till on python-escpos's
``Dummy`` printer and returns the bytes, so the generic layout reads real ESC/POS, code pages
and all. What each receipt must read as is written beside it, from what was printed.

Line notation: ``^text`` centred; ``!left|right`` bold, double height; ``left|right`` two
columns padded to the width; anything else as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from escpos.printer import Dummy


@dataclass(frozen=True)
class Till:
    name: str
    lines: list[str]
    total: str | None
    currency: str | None
    customer: tuple[str, str] | None = None  # (kind, value)
    change: str | None = None
    tenders: list[tuple[str, str]] = field(default_factory=list)  # (method, amount)
    tax_included: bool = True
    problems: list[str] = field(default_factory=list)  # words each problem has
    code_page: str | None = None  # None: python-escpos picks one per character
    width: int = 42


def capture(till: Till) -> bytes:
    """The bytes the till sends for this receipt."""
    p = Dummy(profile="TM-T88V")
    if till.code_page:
        p.charcode(till.code_page)
    for line in till.lines:
        if line.startswith("^"):
            p.set(align="center", bold=True)
            p.text(line[1:] + "\n")
            p.set(align="left", bold=False)
        elif line.startswith("!"):
            left, right = line[1:].split("|")
            p.set(bold=True, double_height=True)
            p.text(_columns(left, right, till.width) + "\n")
            p.set(bold=False, normal_textsize=True)
        elif "|" in line:
            left, right = line.split("|")
            p.text(_columns(left, right, till.width) + "\n")
        else:
            p.text(line + "\n")
    p.cut()
    return bytes(p.output)


def _columns(left: str, right: str, width: int) -> str:
    return left + " " * max(2, width - len(left) - len(right)) + right


TILLS: list[Till] = [
    Till(
        "nl_supermarkt",
        [
            "^SUPERMARKT DE HOEK",
            "^Kerkstraat 14, 1017 GL Amsterdam",
            "^Tel. 020 555 1234",
            "Bon 0042   12-11-2026 16:42",
            "Volkoren brood|2,49",
            "Melk halfvol 1L|1,19",
            "2 x Appels Elstar|1,98",
            "Kaas jong belegen|4,75",
            "Korting kaas|-0,50",
            "!TOTAAL EUR|9,91",
            "PIN|9,91",
            "BTW 9%  over 9,09|0,82",
            "Klantnummer: NL-5521",
            "Bedankt en tot ziens",
        ],
        total="9.91",
        currency="EUR",
        customer=("card", "NL5521"),
        tenders=[("pin", "9.91")],
    ),
    Till(
        "it_bar",
        [
            "^BAR CENTRALE",
            "^Piazza Duomo 3 - 20121 Milano",
            "^P.IVA 01234567890",
            "Cappuccino|1,50",
            "Brioche|1,20",
            "Spremuta d'arancia|3,50",
            "!TOTALE EURO|6,20",
            "di cui IVA 10%|0,56",
            "CONTANTI|10,00",
            "RESTO|3,80",
            "Carta fedeltà: IT99887766",
            "DOC. N. 0815  14/11/2026 08:12",
        ],
        total="6.20",
        currency="EUR",
        customer=("card", "IT99887766"),
        change="3.80",
        tenders=[("contanti", "10.00")],
    ),
    Till(
        "en_gb_shop",
        [
            "^THE CORNER SHOP",
            "^12 High Street, Leeds LS1 4AB",
            "^Tel: 0113 496 0000",
            "^VAT No. GB 123 4567 89",
            "Semi skimmed milk|£1.45",
            "Bread white|£1.10",
            "Tea bags 80|£2.99",
            "Multibuy saving|-£0.50",
            "!TOTAL GBP|£5.04",
            "Contactless|£5.04",
            "VAT 20%    1.42   0.28",
            "Rewards card: RL-000451",
            "Thank you for shopping with us",
        ],
        total="5.04",
        currency="GBP",
        customer=("card", "RL000451"),
        tenders=[("contactless", "5.04")],
    ),
    Till(
        "en_us_deli",
        [
            "^MAPLE STREET DELI",
            "^45 Maple St, Boston MA 02108",
            "^(617) 555-0100",
            "11/14/2026   12:31 PM",
            "1  Turkey Club|$9.95",
            "2  Coffee|$4.50",
            "     @ $2.25",
            "1  Cookie|$1.75",
            "SUBTOTAL|$16.20",
            "Sales Tax 6.25%|$1.01",
            "A local tax|$1.30",
            "!TOTAL|$18.51",
            "CASH|$20.00",
            "CHANGE|$1.49",
            "Rewards # 5551234567",
            "Thank you!",
        ],
        total="18.51",
        currency="USD",
        customer=("card", "5551234567"),
        change="1.49",
        tenders=[("cash", "20.00")],
        tax_included=False,
    ),
    Till(
        "en_us_phone",
        [
            "^SUNRISE CAFE",
            "^Tel (518) 555-0142",
            "^220 Lark St, Albany NY",
            "Pancakes|8.50",
            "Orange juice|3.25",
            "Tax|0.94",
            "!Total|12.69",
            "Visa ****1111|12.69",
            "Phone: 518-555-0199",
            "Have a nice day",
        ],
        total="12.69",
        currency=None,
        customer=("phone", "5185550199"),
        tenders=[("visa", "12.69")],
        tax_included=False,
    ),
    Till(
        "de_baeckerei",
        [
            "^Bäckerei Müller",
            "^Lindenstraße 8, 80331 München",
            "^Telefon 089 123456",
            "Brezel|0,85 A",
            "Roggenbrot 500g|3,40 A",
            "Kaffee to go|2,90 B",
            "Pfand Becher|1,00 B",
            "Pfand zurück|1,00- B",
            "!SUMME EUR|7,15",
            "Gegeben Bar|10,00",
            "Rückgeld|2,85",
            "MwSt   Netto  Steuer  Brutto",
            "A 7%    3,97    0,28    4,25",
            "B 19%   2,44    0,46    2,90",
            "Kundenkarte: DE 4711 0815",
            "Vielen Dank für Ihren Einkauf",
        ],
        total="7.15",
        currency="EUR",
        customer=("card", "DE47110815"),
        change="2.85",
        tenders=[("gegeben bar", "10.00")],
        code_page="CP858",
    ),
    Till(
        "fr_epicerie",
        [
            "^ÉPICERIE DU MARCHÉ",
            "^8 place des Lices, 35000 Rennes",
            "^Tél. 02 99 00 00 00",
            "Le 14/11/2026 à 10:05",
            "Camembert|4,20 €",
            "Cidre brut 75cl|3,95 €",
            "Galettes x6|2,80 €",
            "Téléviseur reconditionné|1 234,56 €",
            "Remise fidélité|-5,00 €",
            "!TOTAL À PAYER|1 240,51 €",
            "Carte bancaire|1 240,51 €",
            "TVA 20,00%   1 033,76   206,75",
            "Carte fidélité : FR-2024-0077",
            "Merci de votre visite",
        ],
        total="1240.51",
        currency="EUR",
        customer=("card", "FR20240077"),
        tenders=[("carte bancaire", "1240.51")],
    ),
    Till(
        "es_farmacia",
        [
            "^FARMACIA CENTRAL",
            "^Avda. de la Constitución 5, Sevilla",
            "^Tlf. 954 00 00 00",
            "Fecha: 14/11/2026  Hora: 18:20",
            "Ibuprofeno 600|EUR 3,15",
            "Crema solar 50|EUR 12,90",
            "Tiritas|EUR 2,35",
            "Base imponible|EUR 16,73",
            "IVA 10%|EUR 1,67",
            "!IMPORTE|EUR 18,40",
            "Efectivo|EUR 20,00",
            "Cambio|EUR 1,60",
            "Tarjeta cliente ES-4455-88",
        ],
        total="18.40",
        currency="EUR",
        customer=("card", "ES445588"),
        change="1.60",
        tenders=[("efectivo", "20.00")],
    ),
    Till(
        "pt_mercearia",
        [
            "^MERCEARIA LISBOA",
            "^Rua Augusta 100, 1100-053 Lisboa",
            "^NIF 501234567",
            "Pão de Água|0,90",
            "Bacalhau 1kg|12,49",
            "Vinho Verde|4,99",
            "Desconto cartão|(1,00)",
            "!TOTAL A PAGAR|17,38 EUR",
            "Multibanco|17,38",
            "IVA 23%|3,25",
            "Cartão Cliente: PT 1234 5678",
            "Obrigado pela preferência",
        ],
        total="17.38",
        currency="EUR",
        customer=("card", "PT12345678"),
        tenders=[("multibanco", "17.38")],
    ),
    Till(
        "pl_sklep",
        [
            "^SKLEP ŻABKA",
            "^ul. Długa 5, 31-147 Kraków",
            "^NIP 676-000-00-00",
            "PARAGON FISKALNY",
            "Chleb razowy       1 x 5,49     5,49 C",
            "Masło extra        2 x 7,99    15,98 C",
            "Woda mineralna     3 x 2,19     6,57 A",
            "Sprzed. opod. PTU A              6,57",
            "PTU A 23%                        1,23",
            "Suma PTU                         2,25",
            "!RAZEM PLN|28,04",
            "Gotówka|50,00 zł",
            "Reszta|21,96 zł",
            "Karta klienta: 5900123456",
        ],
        total="28.04",
        currency="PLN",
        customer=("card", "5900123456"),
        change="21.96",
        tenders=[("gotówka", "50.00")],
        code_page="CP852",
    ),
    Till(
        "sv_livs",
        [
            "^LIVS I CENTRUM",
            "^Drottninggatan 10, Stockholm",
            "Mjölk 1,5 l|17,90",
            "Smör 500 g|54,90",
            "Kaffe|69,00",
            "!Totalt|141,80 kr",
            "Kort|141,80 kr",
            "Moms 12%   126,61   15,19",
            "Medlemsnummer 771234",
        ],
        total="141.80",
        currency="SEK",
        customer=("card", "771234"),
        tenders=[("kort", "141.80")],
    ),
    Till(
        "da_bager",
        [
            "^BAGEREN",
            "^Vesterbrogade 3, København",
            "Rugbrød|32,00",
            "Wienerbrød|18,50",
            "!I alt|50,50 kr.",
            "Dankort|50,50",
            "Heraf moms 25%|10,10",
            "Kundekort: 30012345",
        ],
        total="50.50",
        currency="DKK",
        customer=("card", "30012345"),
        tenders=[("dankort", "50.50")],
    ),
    Till(
        "cs_potraviny",
        [
            "^POTRAVINY U NÁDRAŽÍ",
            "^Nádražní 12, 110 00 Praha",
            "Rohlík 10 ks|29,90",
            "Máslo|54,90",
            "Pivo 0,5 l|24,90",
            "!CELKEM|109,70 Kč",
            "Hotovost|200,00 Kč",
            "Vráceno|90,30 Kč",
            "DPH 12%|11,75",
            "Věrnostní karta: CZ-8812-004",
        ],
        total="109.70",
        currency="CZK",
        customer=("card", "CZ8812004"),
        change="90.30",
        tenders=[("hotovost", "200.00")],
    ),
    Till(
        "fi_kauppa",
        [
            "^LÄHIKAUPPA",
            "^Mannerheimintie 5, Helsinki",
            "Ruisleipä|2,89",
            "Maito 1 l|1,15",
            "!YHTEENSÄ|4,04 €",
            "Pankkikortti|4,04",
            "ALV 14%|0,50",
            "Kanta-asiakas 6001 2233",
        ],
        total="4.04",
        currency="EUR",
        customer=("card", "60012233"),
        tenders=[("pankkikortti", "4.04")],
    ),
    Till(
        "tr_market",
        [
            "^MARKET KÖŞE",
            "^Bağdat Cad. 12, İstanbul",
            "Ekmek|15,00",
            "Süt 1 L|42,50",
            "Peynir|189,90",
            "!TOPLAM|247,40 TL",
            "NAKİT|250,00 TL",
            "PARA ÜSTÜ|2,60 TL",
            "KDV %1|2,45",
            "Müşteri kartı: 905551112233",
        ],
        total="247.40",
        currency="TRY",
        customer=("card", "905551112233"),
        change="2.60",
        tenders=[("NAKİT".lower(), "250.00")],
    ),
    Till(
        "ro_magazin",
        [
            "^MAGAZIN MIXT",
            "^Str. Lipscani 20, București",
            "Pâine|4,50",
            "Lapte|7,20",
            "!TOTAL LEI|11,70",
            "Numerar|20,00",
            "Rest|8,30",
            "TVA 9%|0,97",
            "Card fidelitate: RO 5566 7788",
        ],
        total="11.70",
        currency="RON",
        customer=("card", "RO55667788"),
        change="8.30",
        tenders=[("numerar", "20.00")],
    ),
    # -- tax lines in the other places --------------------------------------------------
    Till(
        "en_tax_before_subtotal",
        [
            "^GREEN GROCER",
            "Apples|3.00",
            "Pears|2.00",
            "VAT 20% incl.|0.83",
            "SUBTOTAL|5.00",
            "!TOTAL|5.00",
            "CASH|5.00",
        ],
        total="5.00",
        currency=None,
        tenders=[("cash", "5.00")],
    ),
    Till(
        "en_total_on_two_lines",
        [
            "^MARKET STALL",
            "Honey|6.00",
            "Jam|4.50",
            "TOTAL",
            "|10.50",
            "Cash|20.00",
            "Change|9.50",
        ],
        total="10.50",
        currency=None,
        change="9.50",
        tenders=[("cash", "20.00")],
    ),
    Till(
        "en_thousands",
        [
            "^BIKE SHOP",
            "Road bike|1,234.56",
            "Helmet|(10.00)",
            "Lights|45.00",
            "!TOTAL USD|1,269.56",
            "Mastercard|1,269.56",
        ],
        total="1269.56",
        currency="USD",
        tenders=[("mastercard", "1269.56")],
    ),
    # -- receipts the generic layout must call unsure ------------------------------------
    Till(
        "no_total",
        ["^KIOSK", "Newspaper|2.50", "Gum|1.20", "Thank you"],
        total=None,
        currency=None,
        problems=["no total"],
    ),
    Till(
        "sums_disagree",
        ["^KIOSK", "Newspaper|2.50", "Gum|1.20", "!TOTAL|4.70", "Cash|4.70"],
        total="4.70",
        currency=None,
        tenders=[("cash", "4.70")],
        problems=["total 4.70"],
    ),
    Till(
        "card_label_without_number",
        [
            "^BÄCKEREI",
            "Brezel|0,85",
            "!SUMME|0,85",
            "Bar|0,85",
            "Kundenkarte:",
        ],
        total="0.85",
        currency=None,
        tenders=[("bar", "0.85")],
        problems=["customer label", "Kundenkarte"],
    ),
]

# -- chains' layouts as they print them ---------------------------------------------------
TILLS += [
    Till(
        "de_discounter",
        [
            "ALDI SUED",
            "Musterstr. 1, 12345 Berlin",
            "Milch 1,5%              0,89 A",
            "Bananen                 1,29 A",
            "2 x 0,79",
            "Joghurt                 1,58 A",
            "Pfand                   0,25 B",
            "Summe                   4,01",
            "Geg. EC-Karte           4,01",
            "EUR",
            "*  MwSt.  Netto  MwSt  Brutto",
            "A  7%     3,52   0,24   3,76",
            "B 19%     0,21   0,04   0,25",
            "Kundennr.: 0012345678",
        ],
        total="4.01",
        currency="EUR",
        customer=("card", "0012345678"),
        tenders=[("geg. ec-karte", "4.01")],
        code_page="CP858",
    ),
    Till(
        "fr_hypermarche",
        [
            "CARREFOUR MARKET",
            "12 rue X 75000 Paris",
            "Tel 01 23 45 67 89",
            "PAIN                    1,10",
            "LAIT                    0,95",
            "BEURRE                  2,35",
            "TOTAL TTC               4,40 EUR",
            "CB EMV SANS CONTACT     4,40",
            "Dont TVA 5,5%           0,23",
            "Carte fidélité N° 9135 0012 3456 7",
        ],
        total="4.40",
        currency="EUR",
        customer=("card", "9135001234567"),
        tenders=[("cb emv sans contact", "4.40")],
    ),
    Till(
        "nl_masked_bonuskaart",
        [
            "ALBERT HEIJN",
            "    1      BANANEN                   1,49",
            "    2      MELK              1,15    2,30",
            "SUBTOTAAL                            3,79",
            "BONUS AHMELK                        -0,30",
            "TOTAAL                               3,49",
            "BETAALD MET PIN                      3,49",
            "BONUSKAART xxxxxxxxx1234",
            "BTW     OVER     EUR",
            "9%      3,20     0,29",
        ],
        total="3.49",
        currency="EUR",
        tenders=[("betaald met pin", "3.49")],
        problems=["customer label", "BONUSKAART"],
    ),
    Till(
        "us_supercenter",
        [
            "Walmart",
            "(555) 555-5555 MGR JOHN",
            "1234 MAIN ST ANYTOWN TX 75001",
            "BANANAS 000000004011 F    1.24 N",
            "MILK 007874235186 F       3.48 N",
            "SUBTOTAL                  4.72",
            "TAX 1 6.250 %             0.30",
            "TOTAL                     5.02",
            "VISA TEND                 5.02",
            "CHANGE DUE                0.00",
        ],
        total="5.02",
        currency=None,
        change="0.00",
        tenders=[("visa tend", "5.02")],
        tax_included=False,
    ),
    Till(
        "ch_cumulus",
        [
            "MIGROS",
            "Limmatstrasse 152, 8005 Zürich",
            "Vollmilch            1.65",
            "Brot                 3.20",
            "Total CHF            4.85",
            "Bar                 10.00",
            "Rückgeld             5.15",
            "Cumulus-Nr. 2099 1234 5678",
        ],
        total="4.85",
        currency="CHF",
        customer=("card", "209912345678"),
        change="5.15",
        tenders=[("bar", "10.00")],
    ),
]

# -- totals corrected below them, and more languages ---------------------------------------
TILLS += [
    Till(
        "en_total_with_tip",
        [
            "^DINER",
            "Burger|10.00",
            "Fries|3.00",
            "Subtotal|13.00",
            "Tax 8%|1.04",
            "Total|14.04",
            "Tip|2.00",
            "!Total with tip|16.04",
            "Visa|16.04",
        ],
        total="16.04",
        currency=None,
        tenders=[("visa", "16.04")],
        tax_included=False,
    ),
    Till(
        "de_summe_then_rabatt",
        [
            "^DROGERIE",
            "Shampoo|3,95",
            "Zahnpasta|1,45",
            "Summe|5,40",
            "Rabatt 10%|-0,54",
            "!Zu zahlen EUR|4,86",
            "Bar|5,00",
            "Zurück|0,14",
        ],
        total="4.86",
        currency="EUR",
        change="0.14",
        tenders=[("bar", "5.00")],
    ),
    Till(
        "hu_bolt",
        [
            "^ABC BOLT",
            "Kenyér|450 Ft",
            "Tej|389 Ft",
            "!ÖSSZESEN|839 Ft",
            "Készpénz|1 000 Ft",
            "Visszajáró|161 Ft",
            "Törzsvásárlói kártya: 5544332211",
        ],
        total="839",
        currency="HUF",
        customer=("card", "5544332211"),
        change="161",
        tenders=[("készpénz", "1000")],
    ),
    Till(
        "el_market",
        [
            "^ΣΟΥΠΕΡ ΜΑΡΚΕΤ",
            "^ΑΘΗΝΑ ΤΗΛ 210 1234567",
            "ΓΑΛΑ|1,20",
            "ΨΩΜΙ|0,90",
            "!ΣΥΝΟΛΟ|2,10 €",
            "ΜΕΤΡΗΤΑ|5,00",
            "ΡΕΣΤΑ|2,90",
            "ΦΠΑ 13%|0,24",
            "ΚΑΡΤΑ ΜΕΛΟΥΣ 7788 9900",
        ],
        total="2.10",
        currency="EUR",
        customer=("card", "77889900"),
        change="2.90",
        tenders=[("μετρητα", "5.00")],
    ),
    Till(
        "hr_konzum",
        [
            "^KONZUM",
            "Kruh|1,20",
            "Mlijeko|0,99",
            "!UKUPNO EUR|2,19",
            "Gotovina|5,00",
            "Povrat|2,81",
            "PDV 25%|0,44",
            "Klub kartica: 3850012345",
        ],
        total="2.19",
        currency="EUR",
        customer=("card", "3850012345"),
        change="2.81",
        tenders=[("gotovina", "5.00")],
    ),
]

# -- cash rounding, and the shop's number printed without a label ------------------------
TILLS += [
    Till(
        "nl_cash_rounding",
        [
            "^WINKEL",
            "Brood|2,46",
            "Melk|7,45",
            "!TOTAAL|9,91",
            "Afronding|-0,01",
            "Contant|10,00",
            "Wisselgeld|0,10",
        ],
        total="9.90",
        currency=None,
        change="0.10",
        tenders=[("contant", "10.00")],
    ),
    Till(
        "us_unlabelled_shop_phone",
        [
            "^CORNER STORE",
            "^(617) 555-0100",
            "Bread|2.00",
            "!TOTAL|2.00",
            "Cash|2.00",
            "Phone: (617) 555-0100",
        ],
        total="2.00",
        currency=None,
        tenders=[("cash", "2.00")],
    ),
]

# -- a card slip's copy line on a sale, and the total beside a count ----------------------
TILLS += [
    Till(
        "es_card_slip_copy",
        [
            "^CAFETERIA SOL",
            "Cafe|1,50",
            "Tostada|2,00",
            "!TOTAL|3,50 €",
            "TARJETA|3,50",
            "VISA ************1234",
            "COPIA PARA EL CLIENTE",
        ],
        total="3.50",
        currency="EUR",
        tenders=[("tarjeta", "3.50")],
    ),
    Till(
        "en_count_beside_total",
        ["^NEWSAGENT", "Paper|2.00", "Mints|0.80", "!Items: 2   Total:|2.80", "Cash|2.80"],
        total="2.80",
        currency=None,
        tenders=[("cash", "2.80")],
    ),
]
