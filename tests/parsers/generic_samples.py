"""Made-up receipts in six languages, never seen by the generic layout's author as fixtures."""

ES_SALE = """\
      PANADERIA LA ESPIGA
   C/ Mayor 12, 28013 Madrid
      NIF: B12345678
Fecha: 12/03/2025   Hora: 09:15
Ticket: 0001-000123
------------------------------------------
Barra de pan                        1,20
2 x Croissant                       2,40
Cafe con leche  2 x 1,50            3,00
Napolitana chocolate
   3 x 0,90                         2,70
Descuento socio                    -0,50
------------------------------------------
TOTAL                            8,80 €
Efectivo                          10,00
Cambio                             1,20
IVA 10%   Base 8,00   Cuota 0,80
Tarjeta cliente: 4000 1234 5678
   Gracias por su visita
"""

EN_US_SALE = """\
CORNER DELI
123 Main St, Springfield
03/14/2025 12:31 PM
Turkey sandwich                 7.95
Soda                            1.75
Chips                           1.29
SUBTOTAL                       10.99
TAX 8.875%                      0.98
TOTAL                          11.97
VISA ************4242          11.97
Member #: 88776655
Thank you! Come again
"""

FR_SALE = """\
   BOULANGERIE DU COIN
  12 rue de la Paix, Paris
Le 05/04/2025 a 08:02
Baguette tradition           1,30
Pain au chocolat x2          2,40
TOTAL TTC                    3,70 EUR
ESPECES                      5,00
RENDU                        1,30
TVA 5,5%    3,51    0,19
Carte fidelite 123-456-789
Merci et a bientot
"""

DE_SALE = """\
Baeckerei Schmidt GmbH
Hauptstr. 5, 10115 Berlin
Broetchen                    0,45 A
Laugenbrezel                 0,95 A
Kaffee                       2,80 B
SUMME EUR                    4,20
Geg. Bar                    10,00
Rueckgeld                    5,80
MwSt     Netto   Steuer  Brutto
A 7%     1,31    0,09    1,40
B 19%    2,35    0,45    2,80
Kundenkarte: 9876 5432 10
21.03.2025 17:45
"""

PL_SALE = """\
SKLEP SPOZYWCZY "POD LIPA"
ul. Lipowa 3, 00-001 Warszawa
NIP 123-456-78-90
2025-03-21 18:02
PARAGON FISKALNY
Chleb zytni         1 x4,50     4,50A
Mleko 2%            2 x3,20     6,40A
Maslo                           7,99B
Sprzedaz opodatkowana A        10,90
PTU A 5%                        0,52
Suma PTU                        1,02
SUMA PLN                       18,89
Gotowka                        20,00
Reszta                          1,11
Karta: 5900 1111 2222
"""

IT_SALE = """\
   BAR PASTICCERIA ROSSI
   Via Roma 1, Milano
Caffe'                          1,20
Cornetto                        1,50
Spremuta                        3,00
TOTALE COMPLESSIVO              5,70
di cui IVA                      0,52
CONTANTI                       10,00
RESTO                           4,30
Tessera fedelta' 77001234
DOC. N. 0042  15-03-2025 10:05
"""

ES_REFUND = """\
SUPERMERCADO EL ALBA
*** DEVOLUCION ***
Leche entera                   -0,95
TOTAL                          -0,95
Efectivo                       -0,95
"""

DE_STORNO = """\
Baeckerei Schmidt
STORNO
Broetchen                    -0,45 A
SUMME EUR                    -0,45
"""

FR_COPY = """\
BOULANGERIE DU COIN
DUPLICATA
Baguette                     1,30
TOTAL                        1,30
"""

PL_COPY = """\
SKLEP POD LIPA
KOPIA
Chleb                        4,50
SUMA PLN                     4,50
"""

EN_COPY = """\
CORNER DELI
** COPY **
Soda                          1.75
TOTAL                         1.75
"""

IT_COPY = """\
BAR ROSSI
COPIA
Caffe'                        1,20
TOTALE                        1,20
"""

FR_REFUND = """\
BOULANGERIE DU COIN
REMBOURSEMENT
Baguette                    -1,30
TOTAL                       -1,30
"""

PL_REFUND = """\
SKLEP POD LIPA
ZWROT
Chleb                       -4,50
SUMA PLN                    -4,50
"""

EN_REFUND = """\
CORNER DELI
REFUND
Soda                         -1.75
TOTAL                        -1.75
"""

Z_REPORT = """\
CORNER DELI
Z REPORT
Gross sales                  1234.56
Cash                          500.00
"""

X_REPORT_ES = """\
PANADERIA LA ESPIGA
INFORME X
Ventas                        345,60
"""
