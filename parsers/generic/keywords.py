"""The words the generic layout knows, per language, and their compiled patterns.

Each table maps a language to the phrases a receipt prints for one kind of line. Phrases are
written plainly (case and accents do not matter: ``parsers.generic.text.fold``); a space in a
phrase also matches a dash, a dot or nothing. To teach the generic layout a language, add its
phrases to every table; the tests read every language here.

Languages: en es fr de it pt nl pl ca sv da no fi cs sk hu ro tr hr sl el lt lv et ja zh.
"""

from __future__ import annotations

from parsers.generic.text import KeywordIndex

Table = dict[str, list[str]]

TOTAL: Table = {
    "en": ["total", "grand total", "total due", "amount due", "balance due", "total amount",
           "amount to pay", "to pay", "total to pay", "total sale", "sale total", "gross total",
           "total gross", "total incl"],
    "es": ["total", "total a pagar", "importe", "importe total", "a pagar", "total venta",
           "total compra", "total ticket", "total factura", "total eur", "neto a pagar"],
    "fr": ["total", "total ttc", "total a payer", "a payer", "net a payer", "montant",
           "montant total", "montant ttc", "montant du", "somme due", "total du"],
    "de": ["summe", "gesamt", "gesamtsumme", "gesamtbetrag", "zu zahlen", "betrag", "endbetrag",
           "endsumme", "zahlbetrag", "rechnungsbetrag", "bruttobetrag", "summe brutto",
           "umsatz brutto", "gesamt brutto", "total"],
    "it": ["totale", "totale complessivo", "totale euro", "importo", "totale documento",
           "da pagare", "totale da pagare", "tot", "importo totale"],
    "pt": ["total", "total a pagar", "a pagar", "valor total", "valor a pagar", "total geral",
           "total liquido", "importancia"],
    "nl": ["totaal", "te betalen", "totaalbedrag", "totaal bedrag", "eindtotaal",
           "totaal te betalen", "bedrag", "totaal incl"],
    "pl": ["razem", "suma", "do zaplaty", "razem do zaplaty", "naleznosc", "suma brutto",
           "sprzedaz brutto", "ogolem", "kwota do zaplaty"],
    "ca": ["total", "import", "a pagar", "total a pagar"],
    "sv": ["totalt", "att betala", "summa", "total", "belopp", "summa att betala"],
    "da": ["i alt", "total", "at betale", "sum", "totalt"],
    "no": ["totalt", "a betale", "sum", "total", "belop", "totalbelop"],
    "fi": ["yhteensa", "maksettava", "summa", "loppusumma", "kokonaissumma"],
    "cs": ["celkem", "k uhrade", "celkem k uhrade", "celkova castka", "suma"],
    "sk": ["spolu", "celkom", "na uhradu", "spolu k uhrade", "suma"],
    "hu": ["osszesen", "fizetendo", "vegosszeg", "osszeg", "vegosszeg"],
    "ro": ["total", "total de plata", "total lei", "de plata", "suma"],
    "tr": ["toplam", "genel toplam", "odenecek", "ara toplam tutar", "tutar"],
    "hr": ["ukupno", "za platiti", "za uplatu", "sveukupno", "iznos"],
    "sl": ["skupaj", "za placilo", "znesek", "skupni znesek"],
    "el": ["συνολο", "γενικο συνολο", "πληρωτεο", "ποσο"],
    "lt": ["is viso", "viso", "moketi", "suma", "bendra suma"],
    "lv": ["kopa", "summa", "kopa apmaksai", "apmaksai"],
    "et": ["kokku", "summa", "tasuda", "maksta"],
    "ja": ["合計", "お会計", "ご請求額", "総合計"],
    "zh": ["合计", "总计", "应付", "合計", "應付"],
}  # fmt: skip

SUBTOTAL: Table = {
    "en": ["subtotal", "sub total", "sub-total", "sub ttl", "subtl"],
    "es": ["subtotal", "sub total", "suma parcial"],
    "fr": ["sous total", "sous-total"],
    "de": ["zwischensumme", "zw summe", "zwischen summe", "zwsumme", "subtotal"],
    "it": ["subtotale", "sub totale", "parziale", "totale parziale"],
    "pt": ["subtotal", "sub total"],
    "nl": ["subtotaal", "sub totaal", "tussentotaal"],
    "pl": ["suma czesciowa", "podsuma", "suma pozycji", "razem pozycje"],
    "ca": ["subtotal"],
    "sv": ["delsumma", "mellansumma"],
    "da": ["subtotal", "mellemsum"],
    "no": ["delsum", "subtotal"],
    "fi": ["valisumma"],
    "cs": ["mezisoucet"],
    "sk": ["medzisucet"],
    "hu": ["reszosszeg", "reszosszesen"],
    "ro": ["subtotal"],
    "tr": ["ara toplam", "aratoplam"],
    "hr": ["medjuzbroj", "meduzbroj"],
    "sl": ["vmesna vsota"],
    "el": ["μερικο συνολο"],
    "lt": ["tarpine suma"],
    "lv": ["starpsumma"],
    "et": ["vahesumma"],
    "ja": ["小計"],
    "zh": ["小计", "小計"],
}  # fmt: skip

TAX: Table = {
    "en": ["tax", "vat", "sales tax", "gst", "hst", "pst", "qst", "local tax", "state tax",
           "city tax", "county tax"],
    "es": ["iva", "i.v.a", "igic", "ipsi", "impuesto", "impuestos", "cuota"],
    "fr": ["tva", "t.v.a", "taxe", "taxes", "tps", "tvq"],
    "de": ["mwst", "mw st", "mehrwertsteuer", "ust", "umsatzsteuer", "steuer"],
    "it": ["iva", "imposta"],
    "pt": ["iva", "imposto", "icms"],
    "nl": ["btw", "b.t.w"],
    "pl": ["ptu", "vat", "podatek"],
    "ca": ["iva"],
    "sv": ["moms"],
    "da": ["moms"],
    "no": ["mva", "moms"],
    "fi": ["alv"],
    "cs": ["dph"],
    "sk": ["dph"],
    "hu": ["afa"],
    "ro": ["tva"],
    "tr": ["kdv"],
    "hr": ["pdv"],
    "sl": ["ddv"],
    "el": ["φπα", "φ.π.α"],
    "lt": ["pvm"],
    "lv": ["pvn"],
    "et": ["km", "kaibemaks"],
    "ja": ["消費税", "内消費税", "外税", "内税", "消費税等"],
    "zh": ["税", "税额", "稅"],
}  # fmt: skip

# Lines with an amount that is neither the total nor a tax: nets, bases, savings, balances,
# counts. Read and set aside.
NOT_A_TOTAL: Table = {
    "en": ["net", "nett", "net amount", "excl", "excluding", "before tax", "taxable",
           "total savings", "you saved", "your savings", "savings", "total items",
           "items", "total qty", "balance", "card balance", "points", "net sales"],
    "es": ["neto", "base imponible", "base imp", "base", "sin iva", "ahorro", "ahorrado",
           "usted ahorra", "saldo", "articulos", "total articulos", "unidades", "puntos"],
    "fr": ["ht", "hors taxes", "hors taxe", "total ht", "montant ht", "base ht", "net ht",
           "economie", "economies", "vous avez economise", "solde", "articles", "nb articles",
           "points"],
    "de": ["netto", "nettobetrag", "summe netto", "exkl", "ohne mwst", "ersparnis",
           "sie sparen", "ihr vorteil", "gespart", "guthaben", "restguthaben", "saldo",
           "anzahl", "artikel", "anzahl artikel", "punkte", "bonuspunkte", "umsatz"],
    "it": ["imponibile", "netto", "risparmio", "hai risparmiato", "saldo", "articoli",
           "n articoli", "punti", "totale imponibile"],
    "pt": ["base tributavel", "liquido", "poupanca", "poupou", "economizou", "saldo",
           "artigos", "pontos", "incidencia"],
    "nl": ["netto", "excl", "exclusief", "grondslag", "voordeel", "u bespaart", "bespaard",
           "korting totaal", "saldo", "artikelen", "aantal artikelen", "punten"],
    "pl": ["netto", "sprzedaz opodatkowana", "sprzed opod", "sprzedaz zwolniona",
           "oszczednosc", "zaoszczedziles", "saldo", "ilosc", "pozycji", "punkty",
           "opodatk"],
    "sv": ["netto", "exkl", "du sparade", "rabatt totalt", "saldo", "antal"],
    "da": ["netto", "ekskl", "du sparede", "besparelse", "saldo", "antal"],
    "no": ["netto", "eks mva", "du sparte", "saldo", "antall"],
    "fi": ["veroton", "saasto", "saldo", "kpl"],
    "cs": ["bez dph", "zaklad", "zaklad dane", "usetrili jste", "pocet"],
    "sk": ["bez dph", "zaklad", "zaklad dane", "usetrili ste", "pocet"],
    "hu": ["netto", "ado alap", "megtakaritas", "darab"],
    "ro": ["baza", "fara tva", "economie", "valoare fara tva"],
    "tr": ["matrah", "kdv haric", "tasarruf"],
    "hr": ["osnovica", "bez pdv", "usteda"],
    "sl": ["osnova", "brez ddv", "prihranek"],
    "el": ["καθαρη αξια", "αξια προ φπα"],
    "lt": ["be pvm", "suma be pvm"],
    "lv": ["bez pvn"],
    "et": ["km-ta", "maksustatav"],
}  # fmt: skip

# Words that make "total tax" a tax sum, and "total incl. VAT" a total.
SUM_WORDS: Table = {
    "en": ["total", "sum"], "es": ["total", "suma"], "fr": ["total", "somme"],
    "de": ["summe", "gesamt", "total"], "it": ["totale"], "pt": ["total"],
    "nl": ["totaal"], "pl": ["suma", "razem", "laczna kwota", "laczna"],
    "sv": ["summa", "totalt"], "da": ["i alt"], "no": ["sum", "totalt"], "fi": ["yhteensa"],
    "cs": ["celkem"], "sk": ["spolu"], "hu": ["osszesen"], "tr": ["toplam"], "hr": ["ukupno"],
    "sl": ["skupaj"], "el": ["συνολο"],
}  # fmt: skip
INCLUDED: Table = {
    "en": ["incl", "including", "inc", "includes"], "es": ["incluido", "incl", "con iva"],
    "fr": ["dont", "inclus", "incluse", "comprise", "ttc"], "de": ["inkl", "incl", "davon",
    "enthalten", "inklusive"], "it": ["di cui", "incl", "inclusa", "compresa"],
    "pt": ["incluido", "incl", "inclui"], "nl": ["incl", "inclusief", "waarvan"],
    "pl": ["w tym", "zawiera"], "sv": ["inkl", "varav"], "da": ["inkl", "heraf"],
    "no": ["inkl", "herav"], "fi": ["sis"], "cs": ["vcetne", "vc"], "sk": ["vratane"],
    "hu": ["tartalmaz"], "ro": ["inclus"], "tr": ["dahil"], "hr": ["ukljucen", "sadrzi"],
    "sl": ["vkljucen", "vsebuje"], "el": ["συμπεριλαμβανεται"],
}  # fmt: skip

CHANGE: Table = {
    "en": ["change", "change due", "your change", "cash back", "cashback"],
    "es": ["cambio", "cambios", "vuelta", "vuelto", "a devolver", "devolver", "su cambio"],
    "fr": ["rendu", "a rendre", "monnaie", "monnaie rendue", "rendu monnaie"],
    "de": ["ruckgeld", "rueckgeld", "wechselgeld", "zuruck", "zurueck", "retour"],
    "it": ["resto", "resto contanti"],
    "pt": ["troco"],
    "nl": ["wisselgeld", "terug", "retour", "terug te geven"],
    "pl": ["reszta", "wydano", "wydane"],
    "ca": ["canvi"],
    "sv": ["vaxel", "vaxel tillbaka", "tillbaka"],
    "da": ["byttepenge", "retur", "tilbage"],
    "no": ["veksel", "vekslepenger", "tilbake"],
    "fi": ["vaihtoraha", "takaisin"],
    "cs": ["vraceno", "vratit", "vydat"],
    "sk": ["vydavok", "vratene", "vydat"],
    "hu": ["visszajaro", "visszajar"],
    "ro": ["rest", "rest de plata"],
    "tr": ["para ustu", "paraustu", "kusur"],
    "hr": ["ostatak", "povrat", "vraceno"],
    "sl": ["vracilo", "drobiz"],
    "el": ["ρεστα"],
    "lt": ["graza"],
    "lv": ["atlikums", "izdots"],
    "et": ["tagasi", "tagastus"],
    "ja": ["お釣り", "お釣", "釣銭", "おつり"],
    "zh": ["找零", "找續"],
}  # fmt: skip

TIP: Table = {
    "en": ["tip", "tips", "gratuity"], "es": ["propina"],
    "fr": ["pourboire"], "de": ["trinkgeld"], "it": ["mancia"],
    "pt": ["gorjeta"], "nl": ["fooi"], "pl": ["napiwek"],
    "sv": ["dricks"], "da": ["drikkepenge"], "no": ["tips"], "fi": ["juomaraha"],
    "cs": ["spropitne"], "sk": ["prepitne"], "hu": ["borravalo"], "ro": ["bacsis"],
    "tr": ["bahsis"], "hr": ["napojnica"], "sl": ["napitnina"], "el": ["φιλοδωρημα"],
}  # fmt: skip

# A service charge the house adds (not the customer's tip): it never earns points. The phrases
# here say so on their own ("Service charge 12,50", "Frais de service").
SERVICE: Table = {
    "en": ["service charge", "service chg", "service fee", "svc charge", "svc chg",
           "auto gratuity", "automatic gratuity", "included service", "service included"],
    "es": ["cargo por servicio", "cargo servicio", "recargo servicio", "servicio incluido",
           "suplemento servicio"],
    "fr": ["frais de service", "service compris", "supplement service", "service inclus"],
    "de": ["servicegebuhr", "servicepauschale", "bedienungszuschlag", "bedienungsgeld"],
    "it": ["coperto e servizio", "servizio incluso", "costo servizio", "supplemento servizio"],
    "pt": ["taxa de servico", "taxa servico", "servico incluido"],
    "nl": ["servicekosten", "bedieningsgeld", "servicetoeslag"],
    "pl": ["oplata serwisowa", "serwis doliczony", "oplata za serwis"],
    "sv": ["serviceavgift"], "da": ["servicegebyr"], "no": ["serviceavgift"],
    "fi": ["palvelumaksu"], "cs": ["servisni poplatek"], "sk": ["servisny poplatok"],
    "hu": ["szervizdij"], "ro": ["taxa de serviciu"], "tr": ["servis ucreti"],
    "hr": ["naknada za uslugu"], "el": ["χρεωση υπηρεσιας"],
}  # fmt: skip
# One word that is a service charge only when a rate is printed with it ("Service 10%",
# "Bedienung 12 %"): without one, "Service  45,00" may well be what a garage sold.
SERVICE_WORDS: list[str] = [
    "service", "servicio", "servei", "servizio", "servico", "bedienung", "serwis", "servis",
    "servies", "szerviz", "palvelu", "betjening", "betjening",
]  # fmt: skip

# Bottle and container deposits (Pfand, kaucja, consigne): money held, never points. A deposit
# line starts with one of these; "Pfand zurück -1,00" is a returned deposit.
DEPOSIT: Table = {
    "en": ["deposit", "bottle deposit", "container deposit", "can deposit", "crv",
           "bottle return", "deposit return", "deposit refund", "empties"],
    "es": ["deposito envase", "deposito", "envase retornable", "casco"],
    "fr": ["consigne", "consigne bouteille", "deconsigne", "retour consigne"],
    "de": ["pfand", "pfand zuruck", "pfand zurueck", "pfandbon", "pfandruckgabe",
           "einwegpfand", "mehrwegpfand", "flaschenpfand", "leergut", "leergutbon"],
    "it": ["cauzione", "deposito cauzionale", "vuoto a rendere", "vuoto"],
    "pt": ["tara", "vasilhame", "deposito", "tara retornavel"],
    "nl": ["statiegeld", "statiegeld retour", "emballage", "leeggoed", "retour emballage"],
    "pl": ["kaucja", "zwrot kaucji", "kaucja za opakowanie", "opakowanie zwrotne"],
    "ca": ["diposit", "envas"],
    "sv": ["pant", "pantretur", "returpant", "pantkvitto"],
    "da": ["pant", "flaskepant", "pantbon", "returpant"],
    "no": ["pant", "pantelapp", "panteretur"],
    "fi": ["pantti", "panttipalautus", "pullopantti"],
    "cs": ["zaloha", "zaloha obal", "vratny obal"],
    "sk": ["zaloha", "zaloha obal", "vratny obal"],
    "hu": ["betetdij", "visszavaltasi dij", "betetdij visszavaltas"],
    "ro": ["garantie", "garantie ambalaj", "sgr"],
    "hr": ["povratna naknada", "naknada ambalaza"],
    "sl": ["kavcija", "vracljiva embalaza"],
    "lt": ["uzstatas", "tara"],
    "lv": ["depozits", "depozita"],
    "et": ["pant", "taara", "pandipakend"],
}  # fmt: skip

# The receipt a refund, void or copy refers to: "Ticket original: T1-004521", "Orig. check
# #4822", "Duplicata de 000482". The phrase starts the line; the number after it is kept.
ORIGINAL: Table = {
    "en": ["original receipt", "orig receipt", "original check", "orig check",
           "original invoice", "original transaction", "orig trans", "original ticket",
           "ref receipt", "receipt ref", "refers to receipt", "original no", "original",
           "copy of", "reprint of", "duplicate of"],
    "es": ["ticket original", "factura original", "ticket origen", "ticket de origen",
           "tique original", "ticket ref", "ref ticket", "referencia ticket", "original",
           "copia de", "duplicado de", "sobre ticket"],
    "fr": ["ticket d origine", "ticket dorigine", "ticket original", "facture d origine",
           "ticket de reference", "ref ticket", "duplicata de", "copie de", "origine"],
    "de": ["original bon", "originalbon", "ursprungsbon", "ursprungsbeleg", "originalbeleg",
           "original beleg", "bezug bon", "bezugsbon", "zu bon", "storno zu bon",
           "kopie von bon", "kopie von", "duplikat von", "ursprunglicher bon"],
    "it": ["scontrino originale", "scontrino di riferimento", "rif scontrino",
           "documento di riferimento", "doc rif", "copia di", "duplicato di"],
    "pt": ["talao original", "fatura original", "documento original", "talao de origem",
           "ref fatura", "documento de origem", "copia de", "segunda via de"],
    "nl": ["originele bon", "oorspronkelijke bon", "originele kassabon", "origineel bonnr",
           "bonnummer origineel", "retour bij bon", "kopie van"],
    "pl": ["paragon pierwotny", "paragon oryginalny", "dotyczy paragonu", "do paragonu",
           "paragon nr pierwotny", "kopia paragonu nr", "duplikat paragonu"],
    "sv": ["originalkvitto", "ursprungligt kvitto", "ref kvitto", "kopia av"],
    "da": ["original bon", "oprindelig bon", "kopi af"],
    "no": ["originalkvittering", "opprinnelig kvittering", "kopi av"],
    "fi": ["alkuperainen kuitti", "kopio kuitista"],
    "cs": ["puvodni uctenka", "puvodni doklad", "k dokladu"],
    "sk": ["povodny doklad", "k dokladu"],
    "hu": ["eredeti nyugta", "eredeti blokk"],
    "ro": ["bon original", "bon fiscal original"],
    "tr": ["orijinal fis", "asil fis"],
    "hr": ["originalni racun", "izvorni racun"],
    "sl": ["originalni racun", "izvirni racun"],
}  # fmt: skip

# Cash rounding to the nearest 5 cents (NL, BE, FI, CH, DK...): part of what is paid.
ROUNDING: list[str] = [
    "rounding", "round off", "afronding", "afrondingsverschil", "arrondi", "arrondissement",
    "rundung", "rundungsdifferenz", "avrundning", "afrunding", "avrunding", "oresavrunding",
    "pyoristys", "zaokrouhleni", "zaokruhlenie", "arrotondamento", "redondeo", "arredondamento",
    "kerekites", "rotunjire", "zaokraglenie", "yuvarlama",
]  # fmt: skip

# How it was paid. Payment schemes are also in PAYMENT_CARDS: a card line naming one is the
# customer's bank card, never a loyalty card.
TENDER: Table = {
    "en": ["cash", "card", "credit card", "debit card", "credit", "debit", "contactless",
           "gift card", "voucher", "check", "cheque", "paid", "payment", "card payment",
           "tendered", "amount tendered", "received", "cash tendered", "mobile pay"],
    "es": ["efectivo", "en efectivo", "contado", "tarjeta", "tarjeta credito", "tarjeta debito",
           "entregado", "recibido", "pagado", "pago", "vale", "bizum", "tarjeta regalo"],
    "fr": ["especes", "liquide", "carte", "carte bancaire", "cb", "carte bleue", "cheque",
           "paye", "reglement", "recu", "ticket restaurant", "titre restaurant", "sans contact"],
    "de": ["bar", "bargeld", "geg", "gegeben", "bar gegeben", "erhalten", "karte", "ec karte",
           "ec cash", "ec", "girocard", "kartenzahlung", "kreditkarte", "gutschein",
           "kontaktlos", "zahlung", "bezahlt"],
    "it": ["contanti", "contante", "pagamento", "pagamento contante", "pagamento elettronico",
           "carta", "carta di credito", "bancomat", "pos", "ricevuto", "buono", "buoni pasto"],
    "pt": ["dinheiro", "numerario", "cartao", "cartao de credito", "cartao de debito",
           "multibanco", "mb", "mb way", "pix", "recebido", "pago", "entregue"],
    "nl": ["contant", "contanten", "pin", "pinnen", "pinbetaling", "betaald", "kaart",
           "creditcard", "ontvangen", "cadeaukaart", "chipknip"],
    "pl": ["gotowka", "karta", "karta platnicza", "platnosc karta", "blik", "przelew",
           "wplata", "otrzymano", "bon", "platnosc"],
    "ca": ["efectiu", "targeta"],
    "sv": ["kontant", "kontanter", "kort", "bankkort", "kortbetalning", "swish", "erhallet"],
    "da": ["kontant", "kontanter", "kort", "dankort", "betalt", "modtaget", "mobilepay"],
    "no": ["kontant", "kontanter", "kort", "bankkort", "bankaxept", "vipps", "betalt", "mottatt"],
    "fi": ["kateinen", "kortti", "pankkikortti", "maksukortti", "maksettu", "saatu"],
    "cs": ["hotovost", "hotove", "karta", "platebni karta", "prijato", "zaplaceno"],
    "sk": ["hotovost", "karta", "platobna karta", "prijate", "zaplatene"],
    "hu": ["keszpenz", "kartya", "bankkartya", "atvett", "fizetve"],
    "ro": ["numerar", "card", "card bancar", "plata card", "primit", "achitat"],
    "tr": ["nakit", "kredi karti", "kart", "banka karti", "alinan", "odenen"],
    "hr": ["gotovina", "kartica", "kartice", "placeno", "primljeno"],
    "sl": ["gotovina", "kartica", "placilna kartica", "placano", "prejeto"],
    "el": ["μετρητα", "καρτα", "πιστωτικη καρτα"],
    "lt": ["grynieji", "kortele", "mokejimo kortele", "gauta"],
    "lv": ["skaidra nauda", "karte", "maksajuma karte", "sanemts"],
    "et": ["sularaha", "kaart", "pangakaart", "makstud"],
    "any": ["visa", "visa debit", "mastercard", "master card", "maestro", "amex",
            "american express", "diners", "discover", "jcb", "union pay", "unionpay",
            "apple pay", "google pay", "paypal", "v pay", "vpay", "alipay", "wechat pay"],
    "ja": ["お預り", "お預かり", "預り", "現金", "クレジット"],
    "zh": ["现金", "現金", "实收", "付款"],
}  # fmt: skip

# Tender words that say "given", so "Betrag gegeben" or "Total paid" is a tender, not a total.
GIVEN: list[str] = [
    "paid", "tendered", "received", "given", "entregado", "recibido", "pagado", "recu", "paye",
    "gegeben", "geg", "erhalten", "bezahlt", "ricevuto", "pagato", "recebido", "entregue",
    "ontvangen", "betaald", "otrzymano", "wplata", "zaplacono", "erhallet", "betalt",
    "modtaget", "mottatt", "saatu", "maksettu", "prijato", "prijate", "atvett", "primit",
    "alinan", "primljeno", "prejeto", "gauta", "sanemts", "makstud",
]  # fmt: skip

PAYMENT_CARDS: list[str] = [
    "visa", "mastercard", "master card", "maestro", "amex", "american express", "girocard",
    "ec", "ec karte", "credit", "debit", "credito", "debito", "kredit", "kreditkarte",
    "bancomat", "cb", "carte bancaire", "bank", "bankkort", "dankort", "pankkikortti",
    "multibanco", "mokejimo", "pin", "diners", "discover", "jcb", "v pay", "vpay", "platnicza",
    "platebni", "platobna", "bankkartya", "bancar", "banka", "placilna", "pangakaart",
    "maksajuma", "mokejimo", "contactless", "kontaktlos", "sans contact", "auth", "aid",
]  # fmt: skip

DISCOUNT: Table = {
    "en": ["discount", "disc", "coupon", "voucher", "promo", "promotion", "offer", "saving",
           "markdown", "reduction", "deal", "member price", "loyalty discount"],
    "es": ["descuento", "dto", "dcto", "desc", "cupon", "promocion", "promo", "oferta",
           "rebaja", "vale descuento", "bonificacion"],
    "fr": ["remise", "reduction", "rabais", "promo", "promotion", "coupon", "bon de reduction",
           "ristourne", "avantage"],
    "de": ["rabatt", "nachlass", "aktion", "gutschein", "coupon", "preisvorteil", "abzug",
           "sofortrabatt"],
    "it": ["sconto", "promo", "promozione", "offerta", "buono sconto", "coupon", "riduzione"],
    "pt": ["desconto", "desc", "promocao", "promo", "oferta", "cupao", "cupom", "vale"],
    "nl": ["korting", "actie", "bonus", "aanbieding", "kortingsbon", "coupon", "zegel"],
    "pl": ["rabat", "upust", "promocja", "kupon", "bon rabatowy", "znizka", "obnizka"],
    "ca": ["descompte"],
    "sv": ["rabatt", "kupong", "erbjudande"],
    "da": ["rabat", "kupon", "tilbud"],
    "no": ["rabatt", "kupong", "tilbud"],
    "fi": ["alennus", "ale", "kuponki", "etu"],
    "cs": ["sleva", "kupon", "akce"],
    "sk": ["zlava", "kupon", "akcia"],
    "hu": ["kedvezmeny", "kupon", "akcio"],
    "ro": ["reducere", "discount", "cupon"],
    "tr": ["indirim", "kupon"],
    "hr": ["popust", "kupon", "akcija"],
    "sl": ["popust", "kupon", "akcija"],
    "el": ["εκπτωση", "κουπονι"],
    "lt": ["nuolaida"],
    "lv": ["atlaide"],
    "et": ["allahindlus", "soodustus"],
    "ja": ["値引", "割引"],
    "zh": ["折扣", "优惠"],
}  # fmt: skip

# Discount words that are also in item names ("Pale ale", "Meal deal", "Bonus pack"): on a line
# with a positive amount they make a discount only as the line's first word.
ITEM_LIKE_DISCOUNT: frozenset[str] = frozenset(
    {"ale", "etu", "deal", "offer", "bonus", "vale", "zegel", "saving", "tilbud", "akce"}
)

# Labels of a loyalty identifier on their own: the number after them is the customer.
LOYALTY: Table = {
    "en": ["member", "member no", "member id", "membership", "rewards", "reward", "loyalty",
           "club", "club card", "loyalty card", "rewards card", "points card", "bonus card",
           "customer no", "customer number", "customer id", "account no", "vip"],
    "es": ["socio", "n socio", "numero socio", "tarjeta cliente", "tarjeta de cliente",
           "tarjeta fidelidad", "fidelidad", "club", "n cliente", "numero de cliente",
           "cliente n", "tarjeta socio", "puntos cliente"],
    "fr": ["fidelite", "carte fidelite", "carte de fidelite", "carte client", "client n",
           "n client", "numero client", "adherent", "carte adherent", "club", "membre"],
    "de": ["kundenkarte", "kundennummer", "kunden nr", "kundennr", "kunden karte",
           "mitglied", "mitgliedsnummer", "mitglieds nr", "mitgliedskarte", "bonuskarte",
           "payback", "treuekarte", "kundenclub", "clubkarte", "vorteilskarte"],
    "it": ["tessera", "tessera fedelta", "carta fedelta", "fedelta", "carta socio",
           "socio", "cliente n", "codice cliente", "club", "fidelity", "fidaty", "carta club"],
    "pt": ["cartao cliente", "cartao de cliente", "cartao fidelidade", "fidelidade", "socio",
           "n cliente", "numero de cliente", "cliente n", "cartao continente", "club"],
    "nl": ["klantnummer", "klant nr", "klantnr", "klantenkaart", "klantkaart", "lidnummer",
           "lid nr", "bonuskaart", "spaarkaart", "voordeelkaart", "club", "lid"],
    "pl": ["karta klienta", "karta stalego klienta", "karta lojalnosciowa", "nr klienta",
           "numer klienta", "klient nr", "karta programu", "karta czlonkowska", "klub",
           "program lojalnosciowy"],
    "ca": ["targeta client", "soci"],
    "sv": ["medlem", "medlemsnummer", "medlemskort", "kundkort", "kundnummer", "stamkund",
           "bonuskort", "klubbkort"],
    "da": ["medlem", "medlemsnummer", "medlemskort", "kundekort", "kundenummer", "klubkort"],
    "no": ["medlem", "medlemsnummer", "medlemskort", "kundekort", "kundenummer", "trumf"],
    "fi": ["kanta asiakas", "kanta-asiakas", "asiakasnumero", "bonuskortti", "jasen",
           "jasennumero", "plussa"],
    "cs": ["zakaznicka karta", "vernostni karta", "cislo zakaznika", "clenska karta"],
    "sk": ["zakaznicka karta", "vernostna karta", "cislo zakaznika", "clenska karta"],
    "hu": ["torzsvasarloi kartya", "torzsvasarlo", "husegkartya", "ugyfelszam", "tagsagi"],
    "ro": ["card fidelitate", "card de fidelitate", "card client", "cod client", "fidelitate"],
    "tr": ["musteri karti", "musteri no", "sadakat karti", "uye no", "uye"],
    "hr": ["kartica vjernosti", "klub kartica", "broj kupca", "loyalty"],
    "sl": ["kartica zvestobe", "stevilka kupca", "klub"],
    "el": ["καρτα μελους", "κωδικος πελατη", "μελος"],
    "lt": ["lojalumo kortele", "kliento kortele", "kliento nr"],
    "lv": ["klienta karte", "lojalitates karte"],
    "et": ["kliendikaart", "kliendi number", "boonuskaart"],
    # programmes printed by their own names
    "any": ["clubcard", "nectar", "cumulus", "supercard", "payback", "deutschlandcard",
            "air miles", "airmiles", "bonuskaart", "carte u", "club dia", "mi carrefour",
            "fidaty", "s etukortti", "trumf", "plussa", "extracare", "advantage card",
            "mycard", "my card", "perks"],
    "ja": ["ポイントカード", "会員番号", "会員"],
    "zh": ["会员", "会员卡", "會員"],
}  # fmt: skip

# A card word alone ("Karta: 5900 1111 2222") is a loyalty card when its number is printed
# whole; a payment card prints it masked.
CARD_WORDS: list[str] = [
    "card", "tarjeta", "carte", "karte", "karta", "carta", "cartao", "kaart", "kort", "kortti",
    "kartica", "kartya", "karte", "kart", "kortele", "kaart", "καρτα",
]  # fmt: skip

# A customer word needs a number word or a card word beside it ("Cliente: 12345678Z" alone
# may be a tax id).
CUSTOMER_WORDS: list[str] = [
    "customer", "client", "cliente", "kunde", "kunden", "klant", "klient", "klienta",
    "kund", "kunde", "asiakas", "zakaznik", "vasarlo", "musteri", "kupac", "kupca", "πελατης",
]  # fmt: skip
NUMBER_WORDS: list[str] = [
    "no", "nr", "n", "num", "number", "nummer", "numero", "numer", "nro", "id", "code", "cod",
    "codice", "codigo", "cislo", "szam", "broj", "stevilka", "αριθμος", "#",
]  # fmt: skip

PHONE: Table = {
    "en": ["phone", "tel", "telephone", "mobile", "cell", "ph", "phone no", "mob"],
    "es": ["telefono", "tel", "tlf", "tfno", "telf", "movil", "celular"],
    "fr": ["tel", "telephone", "portable", "mobile", "gsm"],
    "de": ["telefon", "tel", "handy", "mobil", "fon", "rufnummer", "telefonnummer"],
    "it": ["telefono", "tel", "cellulare", "cell"],
    "pt": ["telefone", "telemovel", "tel", "tlm", "celular"],
    "nl": ["telefoon", "tel", "mobiel", "gsm", "telefoonnummer"],
    "pl": ["telefon", "tel", "tel kom", "komorka", "nr tel", "numer telefonu"],
    "sv": ["telefon", "tel", "mobil", "mobilnummer"],
    "da": ["telefon", "tlf", "mobil"],
    "no": ["telefon", "tlf", "mobil"],
    "fi": ["puhelin", "puh", "matkapuhelin"],
    "cs": ["telefon", "tel", "mobil"],
    "sk": ["telefon", "tel", "mobil"],
    "hu": ["telefon", "tel", "mobil"],
    "ro": ["telefon", "tel", "mobil"],
    "tr": ["telefon", "tel", "cep"],
    "hr": ["telefon", "tel", "mob"],
    "sl": ["telefon", "tel", "gsm"],
    "el": ["τηλ", "τηλεφωνο", "κινητο"],
}  # fmt: skip

# Words after a loyalty label that say the number is not the customer's ("member since 2019").
NOT_AN_ID: list[str] = [
    "since", "seit", "desde", "depuis", "dal", "od", "sinds", "sedan", "siden", "alkaen",
    "points", "punkte", "puntos", "punti", "pontos", "punten", "punkty", "poang", "point",
    "balance", "saldo", "solde", "valid", "valida", "valable", "gultig", "geldig", "wazna",
    "expires", "expira", "expire", "scadenza", "total", "earned", "ganados", "gesammelt",
]  # fmt: skip

# Lines near the shop's own phone: an address, a web site, a tax id.
ADDRESS: list[str] = [
    "street", "st", "road", "rd", "ave", "avenue", "calle", "avda", "plaza", "rue",
    "avenue", "boulevard", "bd", "strasse", "str", "platz", "weg", "via", "viale", "piazza",
    "corso", "rua", "avenida", "straat", "laan", "plein", "ul", "ulica", "al", "gatan",
    "gade", "vej", "gate", "katu", "ulice", "utca", "strada", "cad", "sok", "ulica", "cesta",
    "www", "http", "https", "email", "e-mail", "mail", "fax", "nif", "cif", "vat", "siret",
    "siren", "ust-idnr", "ust id", "st-nr", "steuernummer", "p iva", "partita iva", "nip",
    "regon", "kvk", "btw nr", "org nr", "cvr", "ico", "dic", "adoszam", "cui", "vkn", "oib",
    "afm", "abn", "rc", "tva intracom", "store", "filiale", "branch", "tienda", "magasin",
    "negozio", "loja", "winkel", "sklep",
]  # fmt: skip

KIND_REFUND: list[str] = [
    "refund", "return", "returns", "devolucion", "abono", "remboursement", "retour", "avoir",
    "zwrot", "korekta", "storno", "reso", "rimborso", "erstattung", "ruckgabe", "gutschrift",
    "devolucao", "reembolso", "teruggave", "retourbon", "creditnota", "aterkop", "retur",
    "palautus", "vratka", "vratenie", "visszaru", "retur marfa", "iade", "povrat", "vracilo",
    "επιστροφη", "refund receipt",
]  # fmt: skip
KIND_VOID: list[str] = [
    "void", "voided", "anulado", "anulada", "anulacion", "annule", "annulee", "annulation",
    "annullato", "annullata", "anulowany", "anulowana", "abgebrochen", "cancelled",
    "canceled", "cancelado", "geannuleerd", "makulerad", "annulleret", "mitatoitu", "zruseno",
    "stornirano", "iptal", "ακυρωση",
]  # fmt: skip
KIND_COPY: list[str] = [
    "copy", "reprint", "duplicate", "copia", "duplicado", "duplicata", "copie", "kopie",
    "kopia", "duplikat", "zweitschrift", "ristampa", "duplicato", "segunda via", "2a via",
    "kopio", "kopija", "masolat", "copie", "kopya", "αντιγραφο", "not a receipt",
]  # fmt: skip
KIND_REPORT: list[str] = [
    "z report", "x report", "z bericht", "x bericht", "z rapport", "x rapport", "z raport",
    "x raport", "informe x", "informe z", "lettura x", "lettura z", "z bon", "x bon",
    "rapport x", "rapport z", "report x", "report z", "raport dobowy", "raport fiskalny",
    "raport zmianowy", "tagesabschluss", "kassenabschluss", "kassenbericht",
    "cierre de caja", "cierre", "fin de journee", "cloture", "chiusura giornaliera",
    "chiusura", "end of day", "daily report", "shift report", "dagrapport", "dagafsluiting",
    "fecho", "fecho do dia", "relatorio z", "z rapportti", "uzaverka", "napi zaras",
    "raport z", "rapor", "dnevni izvjestaj", "z porocilo", "αναφορα z",
]  # fmt: skip
KIND_TRAINING: list[str] = [
    "training", "entrenamiento", "formation", "schulung", "szkolenie", "formazione",
    "trainingsmodus", "test mode", "mode test", "modo prueba", "modo formacao", "oefenmodus",
    "ovningslage", "harjoitus", "treninkovy", "proba", "egitim", "vjezba", "not valid",
]  # fmt: skip

# The other copy of a card slip: "COPIA CLIENTE" on a sale is the cardholder's slip, no reprint.
SLIP_COPY: list[str] = [
    "customer", "cliente", "client", "merchant", "comercio", "esercente", "commercant",
    "cardholder", "titular", "titolare", "porteur", "kunde", "kundenbeleg", "handler",
    "haendler", "karteninhaber", "klant", "klienta", "klient", "kunden", "kortholder",
    "kortinnehavare", "asiakas", "for the customer", "voor de klant",
]  # fmt: skip

# Units between a quantity and its unit price: "0,850 kg x 5,99", "2 Stk x 1,19".
UNITS = r"(?:kg|g|gr|l|lt|ml|cl|m|uds?|un|u|ud|pcs?|pc|pz|szt\.?|stk\.?|st\.?|ks|db|adet|x)"


def _flat(table: Table) -> list[str]:
    return [phrase for phrases in table.values() for phrase in phrases]


# Every table in one index: ``INDEX.scan(folded)`` finds all of them in one pass.
INDEX = KeywordIndex(
    {
        "total": _flat(TOTAL),
        "subtotal": _flat(SUBTOTAL),
        "tax": _flat(TAX),
        "not_total": _flat(NOT_A_TOTAL),
        "sum": _flat(SUM_WORDS),
        "included": _flat(INCLUDED),
        "change": _flat(CHANGE),
        "tip": _flat(TIP),
        "service": _flat(SERVICE),
        "service_word": SERVICE_WORDS,
        "deposit": _flat(DEPOSIT),
        "original": _flat(ORIGINAL),
        "rounding": ROUNDING,
        "tender": _flat(TENDER),
        "given": GIVEN,
        "payment_card": PAYMENT_CARDS,
        "discount": _flat(DISCOUNT),
        "loyalty": _flat(LOYALTY),
        "card": CARD_WORDS,
        "customer": CUSTOMER_WORDS,
        "number": [w for w in NUMBER_WORDS if w != "#"],
        "phone": _flat(PHONE),
        "not_an_id": NOT_AN_ID,
        "address": ADDRESS,
        "kind_refund": KIND_REFUND,
        "kind_void": KIND_VOID,
        "kind_copy": KIND_COPY,
        "slip_copy": SLIP_COPY,
        "kind_report": KIND_REPORT,
        "kind_training": KIND_TRAINING,
    }
)
KINDS = ("refund", "void", "copy", "report", "training")
