"""Reading import files: formats and encodings told by content, and unsafe files refused."""

import datetime as dt
import io
import json
import os
import struct
import zipfile
import zlib

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.utils import translation

from kreis.migration import readers
from kreis.migration.readers import XLSX_MAX_UNPACKED, open_table, unique_headers

GERMAN = "Firma;Straße;Preis\nMüller & Söhne;Königstraße 1;1.234,50 €\n"


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rejected(source, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        open_table(source, **kwargs)
    return info.value


# --- CSV: encodings -------------------------------------------------------------------------


def test_windows_1252_with_euro_and_quotes_is_read_as_cp1252(tmp_path):
    text = "Name;Notiz\nGrüße aus Köln;„Angebot“ über 5 € – ß\n"
    table = open_table(write(tmp_path, "export.csv", text.encode("cp1252")))

    assert (table.format, table.encoding, table.delimiter) == ("csv", "cp1252", ";")
    assert list(table.rows()) == [["Grüße aus Köln", "„Angebot“ über 5 € – ß"]]


def test_iso_8859_1_is_read_with_umlauts(tmp_path):
    text = "Name\tOrt\nJürgen Weiß\tMünchen\nÖzlem Ärger\tDüsseldorf\n"
    table = open_table(write(tmp_path, "latin1.txt", text.encode("iso-8859-1")))

    assert (table.encoding, table.delimiter) == ("iso-8859-1", "\t")
    assert list(table.rows()) == [["Jürgen Weiß", "München"], ["Özlem Ärger", "Düsseldorf"]]


@pytest.mark.parametrize(("bom", "encoding"), [(b"", "utf-8"), (b"\xef\xbb\xbf", "utf-8-sig")])
def test_utf8_with_and_without_bom(tmp_path, bom, encoding):
    table = open_table(write(tmp_path, "u.csv", bom + GERMAN.encode("utf-8")))

    assert table.encoding == encoding
    assert table.headers == ["Firma", "Straße", "Preis"]  # no BOM glued to the first header
    assert list(table.rows()) == [["Müller & Söhne", "Königstraße 1", "1.234,50 €"]]


def test_utf16_unicode_text_from_excel(tmp_path):
    data = "Name\tStadt\nÄnne\tGöttingen\n".encode("utf-16")
    table = open_table(write(tmp_path, "unicode.txt", data))

    assert table.encoding == "utf-16"
    assert list(table.rows()) == [["Änne", "Göttingen"]]


def test_a_late_windows_1252_byte_decides_the_encoding(tmp_path):
    rows = "".join(f"Firma {i};Ort {i}\n" for i in range(50_000))
    data = ("Firma;Ort\n" + rows).encode() + "Weiß;Köln\n".encode("cp1252")
    table = open_table(write(tmp_path, "late.csv", data))

    assert table.encoding == "iso-8859-1"  # no 0x80–0x9F byte: the two read alike
    assert list(table.rows())[-1] == ["Weiß", "Köln"]


CENTRAL_EUROPEAN = {
    # Polish with ś ź (bytes 0x9C 0x9F, where Windows-1252 has œ Ÿ) and ł ą ż Ł.
    "polish": "Imię;Nazwisko;Miasto\nWłodzimierz;Łukasiewicz;Łódź\nŚwiętosław;Źrebiec;Szczecin\n",
    # Polish without a byte in 0x80–0x9F (read as ISO-8859-1 before).
    "polish_latin": "Imię;Nazwisko;Miasto\nMichał;Kowalski;Kraków\nAnna;Mazur;Łomża\n",
    # Czech: ř ě ů č ň read as Western letters (ø ì ù è ò), and š ž.
    "czech": "Jméno;Příjmení;Město\nJiří;Dvořák;Plzeň\nRůžena;Černá;Brno\nTomáš;Žák;Ústí\n",
    "czech_short": "Firma;Město\nDvořák s.r.o.;Praha\n",
    "hungarian": "Név;Város\nKovács Ödön;Győr\nSzűcs Áron;Pécs\n",
    "slovak": "Meno;Mesto\nĽubomír Šťastný;Košice\n",
}


@pytest.mark.parametrize("name", sorted(CENTRAL_EUROPEAN))
def test_windows_1250_central_european_is_read_as_cp1250(tmp_path, name):
    text = CENTRAL_EUROPEAN[name]
    table = open_table(write(tmp_path, f"{name}.csv", text.encode("cp1250")))

    assert table.encoding == "cp1250"
    assert [table.headers, *table.rows()] == [line.split(";") for line in text.splitlines()]


WESTERN = {
    "german": ("Name;Notiz\nGrüße aus Köln;„Angebot“ über 5 € – ß\n", "cp1252"),
    "german_units": ("Artikel;Volumen;Preis\nTank;5 m³;£ 30\nFass;0,2 m³;¥ 300\n", "iso-8859-1"),
    "french": ("Nom;Ville\nFrançois Bérenger;Besançon\nHélène Lefèvre;Angoulême\n", "iso-8859-1"),
    "spanish": ("Nombre;Ciudad\nJosé Muñoz;A Coruña\n¿Qué tal?;¡Olé!\n", "iso-8859-1"),
    "norwegian": ("Navn;By\nBjørn Ødegård;Tromsø\nÆsa Løvås;Ålesund\n", "iso-8859-1"),
    "italian": ("Nome;Città\nNiccolò;Forlì\nPerché;Cantù\n", "iso-8859-1"),
    "portuguese": ("Nome;Cidade\nJoão Gonçalves;São Paulo\nLuís;Guimarães\n", "iso-8859-1"),
}


@pytest.mark.parametrize("name", sorted(WESTERN))
def test_western_text_is_not_taken_for_central_european(tmp_path, name):
    # charset-normalizer alone takes the German, French, Italian and Portuguese for cp1250.
    text, expected = WESTERN[name]
    table = open_table(write(tmp_path, f"{name}.csv", text.encode("cp1252")))

    assert table.encoding == expected
    assert [table.headers, *table.rows()] == [line.split(";") for line in text.splitlines()]


# --- CSV: delimiters and structure ---------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(tmp_path, delimiter):
    lines = [
        ["Firma", "E-Mail", "Umsatz"],
        ["A, B & C GmbH", "a@b.de", "1.234,56"],
        ["X", "x@y.de", "7"],
    ]
    text = "\n".join(
        delimiter.join(f'"{v}"' if "," in v or delimiter in v else v for v in line)
        for line in lines
    )
    table = open_table(write(tmp_path, "d.csv", text.encode()))

    assert table.delimiter == delimiter
    assert table.headers == lines[0]
    assert list(table.rows()) == lines[1:]


def test_quoted_fields_with_newlines_and_quotes(tmp_path):
    text = 'Name,Notiz\r\n"Müller","Zeile 1\r\nZeile 2 mit ""Zitat"""\r\nSchmidt,kurz\r\n'
    table = open_table(write(tmp_path, "q.csv", text.encode()))

    assert list(table.rows()) == [["Müller", 'Zeile 1\r\nZeile 2 mit "Zitat"'], ["Schmidt", "kurz"]]
    assert table.count_rows() == 2


def test_an_unclosed_quote_is_reported(tmp_path):
    table = open_table(write(tmp_path, "q.csv", b'Name,Notiz\nA,"offen\n' + b"x" * 200_000))
    with pytest.raises(ValidationError, match="a quote is not closed"):
        list(table.rows())


def test_headers_are_stripped_and_made_unique():
    assert unique_headers([" E-Mail ", "E-Mail", "e-mail", "", None, "Name"]) == [
        "E-Mail",
        "E-Mail (2)",
        "e-mail (3)",
        "Column 4",
        "Column 5",
        "Name",
    ]


def test_blank_lines_are_skipped_and_short_rows_padded(tmp_path):
    text = "\n\nA;B;C\n1;2;3\n\n;;\n4\n5;6;7;8\n"
    table = open_table(write(tmp_path, "b.csv", text.encode()))

    assert table.headers == ["A", "B", "C"]
    assert list(table.rows()) == [["1", "2", "3"], ["4", "", ""], ["5", "6", "7", "8"]]
    assert table.count_rows() == 3


@pytest.mark.parametrize(
    "text",
    [
        "A;B\r\n1;2\r\n\r\n;3\r\n;\r\n4;5",
        "A;B\n;\n;;\n1;2\n \n",
        "A,B\n1,2\n3,4\n",
        'A,B\n"1\n2",3\n4,5',
        "\n\nA|B\n|\n1|\n",
    ],
    ids=["crlf-no-final-newline", "delimiter-only-lines", "plain", "quoted-newline", "pipes"],
)
def test_count_rows_agrees_with_rows(tmp_path, text):
    table = open_table(write(tmp_path, "c.csv", text.encode()))
    assert table.count_rows() == len(list(table.rows()))


def test_rows_starts_again_on_every_call_also_for_an_upload():
    upload = SimpleUploadedFile("kontakte.csv", GERMAN.encode("cp1252"))
    table = open_table(upload)

    first = list(table.rows())
    assert list(table.rows()) == first == [["Müller & Söhne", "Königstraße 1", "1.234,50 €"]]
    assert not upload.closed  # the caller's file stays usable


def test_a_temporary_upload_is_read_from_its_file():
    upload = TemporaryUploadedFile("k.csv", "text/csv", 0, "utf-8")
    upload.write(GERMAN.encode())
    upload.flush()
    try:
        assert open_table(upload).count_rows() == 1
    finally:
        upload.close()


def test_excel_delimiter_hint_line(tmp_path):
    table = open_table(write(tmp_path, "hint.csv", b"sep=,\r\nName;Ort,PLZ\r\nA;B,1\r\n"))

    assert (table.delimiter, table.headers) == (",", ["Name;Ort", "PLZ"])
    assert list(table.rows()) == [["A;B", "1"]]
    assert table.count_rows() == 1


def test_a_single_column_file_reads(tmp_path):
    table = open_table(write(tmp_path, "emails.csv", b"E-Mail\na@b.de\nc@d.de\n"))
    assert (table.headers, list(table.rows())) == (["E-Mail"], [["a@b.de"], ["c@d.de"]])


def test_file_name_does_not_decide_the_format(tmp_path):
    path = write(tmp_path, "kontakte.xlsx", GERMAN.encode())
    assert open_table(path).format == "csv"


# --- XLSX -------------------------------------------------------------------------------------


def xlsx_bytes() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Kontakte"
    sheet.append(["Firma", "Umsatz", "Gegründet", "Mitarbeiter", "Letzter Kontakt", "Aktiv"])
    contacted = dt.datetime(2025, 3, 1, 14, 30)  # noqa: DTZ001 (Excel cells have no zone)
    sheet.append(["Müller GmbH", 1234.5, dt.date(1999, 12, 31), 120.0, contacted, True])
    sheet.append([])
    sheet.append(["Weiß AG", 0.1 + 0.2, None, 7, None, False])
    other = book.create_sheet("Produkte")
    other.append(["SKU", "Name"])
    other.append(["A-1", "Stuhl"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_first_sheet_with_typed_cells_as_text(tmp_path):
    table = open_table(write(tmp_path, "kunden.csv", xlsx_bytes()))

    assert (table.format, table.sheet, table.sheets) == (
        "xlsx",
        "Kontakte",
        ["Kontakte", "Produkte"],
    )
    assert table.headers == [
        "Firma",
        "Umsatz",
        "Gegründet",
        "Mitarbeiter",
        "Letzter Kontakt",
        "Aktiv",
    ]
    assert list(table.rows()) == [
        ["Müller GmbH", "1234.5", "1999-12-31", "120", "2025-03-01T14:30:00", "true"],
        ["Weiß AG", "0.3", "", "7", "", "false"],
    ]
    assert table.count_rows() == 2


def test_xlsx_named_sheet_from_an_upload():
    table = open_table(SimpleUploadedFile("x.xlsx", xlsx_bytes()), sheet="Produkte")
    assert list(table.rows()) == [["A-1", "Stuhl"]]


def test_a_sheet_too_large_to_hold_is_refused_with_advice(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "XLSX_MAX_SHEET", 1000)  # the test sheet counts as huge
    error = rejected(write(tmp_path, "x.xlsx", xlsx_bytes()))

    assert error.code == "too_large"
    assert "CSV" in error.messages[0]


def test_xlsx_unknown_sheet_is_named_in_the_error(tmp_path):
    error = rejected(write(tmp_path, "x.xlsx", xlsx_bytes()), sheet="Gibt es nicht")
    assert "Gibt es nicht" in error.messages[0]


# --- vCard and JSON -----------------------------------------------------------------------

VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Jürgen;;Dr.;\r\nFN:Dr. Jürgen Müller\r\n"
    "ORG:Müller GmbH;Einkauf\r\nTITLE:Leiter Einkauf\r\n"
    "EMAIL;TYPE=INTERNET,WORK:j.mueller@mueller.de\r\nEMAIL;TYPE=HOME:juergen@privat.de\r\n"
    "TEL;TYPE=WORK,VOICE:+49 89 123456\r\nTEL;TYPE=CELL:0171 2345678\r\nTEL;TYPE=FAX:+49 89 99\r\n"
    "ADR;TYPE=WORK:;;Hauptstraße 1;München;Bayern;80331;Deutschland\r\n"
    "CATEGORIES:Kunde,VIP\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
    "FN:Anna Schmidt\r\nN:Schmidt;Anna;;;\r\nEMAIL;TYPE=work:anna@schmidt.de\r\n"
    'TEL;VALUE=uri;TYPE="voice,cell":tel:+49-170-555\r\nTEL;VALUE=uri;TYPE=work:tel:+49-30-555\r\n'
    "URL:https://schmidt.de\r\nEND:VCARD\r\n"
)


def test_vcards_3_and_4_become_rows(tmp_path):
    table = open_table(write(tmp_path, "kontakte.txt", VCARDS.encode()))
    rows = [dict(zip(table.headers, row, strict=True)) for row in table.rows()]

    assert table.format == "vcard"
    assert table.count_rows() == 2
    mueller, schmidt = rows
    assert mueller["Last name"] == "Müller"
    assert mueller["Salutation"] == "Dr."
    assert (mueller["Organization"], mueller["Department"]) == ("Müller GmbH", "Einkauf")
    assert (mueller["E-mail"], mueller["E-mail 2"]) == ("j.mueller@mueller.de", "juergen@privat.de")
    assert (mueller["Phone"], mueller["Mobile"], mueller["Fax"]) == (
        "+49 89 123456",
        "0171 2345678",
        "+49 89 99",
    )
    assert (mueller["Street"], mueller["Postal code"], mueller["City"]) == (
        "Hauptstraße 1",
        "80331",
        "München",
    )
    assert mueller["Categories"] == "Kunde; VIP"
    assert schmidt["UID"] == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"
    assert (schmidt["Phone"], schmidt["Mobile"]) == ("+49-30-555", "+49-170-555")
    assert schmidt["Website"] == "https://schmidt.de"


def test_json_list_of_objects_flattened(tmp_path):
    data = [
        {"name": "Müller GmbH", "address": {"city": "Köln", "zip": "50667"}, "tags": ["a", "b"]},
        {"name": "Weiß AG", "active": True, "employees": 12.0, "email": None},
    ]
    table = open_table(write(tmp_path, "p.json", json.dumps(data, ensure_ascii=False).encode()))

    assert table.format == "json"
    assert table.headers == [
        "name",
        "address.city",
        "address.zip",
        "tags",
        "active",
        "employees",
        "email",
    ]
    assert list(table.rows()) == [
        ["Müller GmbH", "Köln", "50667", "a; b", "", "", ""],
        ["Weiß AG", "", "", "", "true", "12", ""],
    ]


def test_json_items_envelope_as_the_bulk_api_takes_it(tmp_path):
    data = {"meta": {"exported": "2025-12-01"}, "items": [{"name": "A"}, {"name": "B"}]}
    table = open_table(write(tmp_path, "bulk.json", json.dumps(data).encode()))
    assert list(table.rows()) == [["A"], ["B"]]


def test_a_csv_starting_with_a_bracket_is_no_json(tmp_path):
    table = open_table(write(tmp_path, "b.csv", b"[Name];[Ort]\nA;B\n"))
    assert (table.format, table.headers) == ("csv", ["[Name]", "[Ort]"])


def test_json_of_another_shape_is_refused(tmp_path):
    error = rejected(write(tmp_path, "n.json", b'[{"a": 1}, 2, 3]'))
    assert error.code == "json_shape"
    assert rejected(write(tmp_path, "o.json", b'{"count": 3}')).code == "json_shape"


def test_json_nested_too_deeply_is_refused(tmp_path):
    deep = '[{"a": ' * 1 + '{"b": ' * 100 + "1" + "}" * 100 + "}]"
    assert rejected(write(tmp_path, "deep.json", deep.encode())).code == "json_depth"
    bomb = '[{"a": ' + "[" * 100_000 + "]" * 100_000 + "}]"
    assert rejected(write(tmp_path, "bomb.json", bomb.encode())).code == "json_depth"


# --- upload safety: size and type ---------------------------------------------------------


def test_a_file_over_the_limit_is_refused(tmp_path, settings):
    settings.KREIS_IMPORT_MAX_MB = 1
    path = write(tmp_path, "big.csv", b"a,b\n" + b"1,2\n" * 300_000)

    error = rejected(path)
    assert error.code == "too_large"
    assert error.messages == ["The file is larger than 1 MB."]
    with translation.override("de"):
        assert rejected(path).messages == ["Die Datei ist größer als 1 MB."]
    assert rejected(path, max_bytes=1000).code == "too_large"


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(
    "data",
    [
        PNG + bytes(200),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(100),
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(50),
        b"Name,Wert\nA,\x00\x01\x02\x03\n",
    ],
    ids=["png", "pdf", "exe", "gzip", "nul-bytes"],
)
def test_other_file_types_renamed_to_csv_are_refused(tmp_path, data):
    error = rejected(write(tmp_path, "kontakte.csv", data))

    assert error.code == "file_type"
    assert error.messages == ["This file is not a CSV, Excel (XLSX), vCard or JSON file."]
    with translation.override("de"):
        assert rejected(write(tmp_path, "k.csv", data)).messages == [
            "Diese Datei ist keine CSV-, Excel- (XLSX), vCard- oder JSON-Datei."
        ]


def test_a_zip_that_is_no_workbook_is_refused(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert rejected(write(tmp_path, "x.xlsx", out.getvalue())).code == "file_type"


def test_an_old_xls_file_gets_advice(tmp_path):
    error = rejected(write(tmp_path, "alt.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)))
    assert "XLSX" in error.messages[0]


def test_an_empty_file_is_refused(tmp_path):
    assert rejected(write(tmp_path, "leer.csv", b"")).code == "empty"


# --- upload safety: zip bombs and XML tricks ---------------------------------------------


def raw_zip(members) -> bytes:
    """A zip written by hand, so that sizes can lie: members are (name, payload, method,
    crc, declared uncompressed size)."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, payload, method, crc, size in members:
        offset = out.tell()
        encoded = name.encode()
        out.write(
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(payload),
                size,
                len(encoded),
                0,
            )
        )
        out.write(encoded + payload)
        central.write(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(payload),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
        )
        central.write(encoded)
    start, directory = out.tell(), central.getvalue()
    out.write(directory)
    out.write(
        struct.pack(
            "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), start, 0
        )
    )
    return out.getvalue()


def deflated(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def zeros_deflated(megabytes: int) -> tuple[bytes, int]:
    """Raw deflate of ``megabytes`` MB of spaces, built from one flushed block repeated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(b" " * (1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    stream = block * megabytes + packer.flush()
    crc = 0
    for _i in range(megabytes):
        crc = zlib.crc32(b" " * (1 << 20), crc)
    return stream, crc


WORKBOOK = b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'


def member(name: str, data: bytes):
    return (name, deflated(data), 8, zlib.crc32(data), len(data))


def test_zip_bomb_declaring_gigabytes_is_refused_from_the_directory(tmp_path):
    payload = deflated(b" " * 1000)
    bomb = raw_zip(
        [
            member("xl/workbook.xml", WORKBOOK),
            ("xl/worksheets/sheet1.xml", payload, 8, 0, 0xF0000000),
        ]
    )
    assert len(bomb) < 5_000

    error = rejected(write(tmp_path, "bombe.xlsx", bomb))
    assert error.code == "zip_bomb"
    assert error.messages == ["The Excel file is packed suspiciously (zip bomb) and was rejected."]
    with translation.override("de"):
        assert rejected(write(tmp_path, "b.xlsx", bomb)).messages == [
            "Die Excel-Datei ist verdächtig gepackt (Zip-Bombe) und wurde abgelehnt."
        ]


def test_zip_bomb_with_an_honest_huge_ratio_is_refused(tmp_path):
    stream, crc = zeros_deflated(300)  # 300 MB of spaces in about 300 KB
    bomb = raw_zip(
        [
            member("xl/workbook.xml", WORKBOOK),
            ("xl/worksheets/sheet1.xml", stream, 8, crc, 300 << 20),
        ]
    )

    assert rejected(write(tmp_path, "ratio.xlsx", bomb)).code == "zip_bomb"


def test_zip_bomb_lying_about_its_size_stops_at_the_declared_size(tmp_path):
    stream, _crc = zeros_deflated(200)  # inflates to 200 MB, says 1 KB
    bomb = raw_zip(
        [member("xl/workbook.xml", WORKBOOK), ("xl/worksheets/sheet1.xml", stream, 8, 0, 1024)]
    )

    error = rejected(write(tmp_path, "lie.xlsx", bomb))
    assert error.code == "zip_bomb"
    # the guard stopped inflating just past the declared 1 KB, not after 200 MB
    assert error.params["unpacked"] <= 1025


def test_zip_bomb_members_beyond_the_total_budget_are_refused(tmp_path):
    size = XLSX_MAX_UNPACKED // 4 + 1
    members = [member("xl/workbook.xml", WORKBOOK)] + [
        (f"xl/media/image{i}.bin", b"x", 0, 0, size) for i in range(4)
    ]
    assert rejected(write(tmp_path, "many.xlsx", raw_zip(members))).code == "zip_bomb"


def with_part(name: str, content: bytes) -> bytes:
    """The test workbook with one XML part replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            if info.filename != name:
                archive.writestr(info.filename, source.read(info))
        archive.writestr(name, content)
    return out.getvalue()


LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<si><t>&lol9;</t></si></sst>"
)


@pytest.mark.parametrize(
    ("part", "content"),
    [
        ("xl/sharedStrings.xml", LAUGHS),
        (
            "xl/workbook.xml",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&e;</workbook>',
        ),
        (
            # a large part: only its prolog is parsed, and the DTD stands there
            "xl/worksheets/sheet1.xml",
            b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + b"<!-- %s -->" % os.urandom(2_500_000).hex().encode()
            + b"</worksheet>",
        ),
    ],
    ids=["billion-laughs", "external-entity", "dtd-in-large-sheet"],
)
def test_xml_entity_tricks_in_a_workbook_are_refused(tmp_path, part, content):
    error = rejected(write(tmp_path, "laughs.xlsx", with_part(part, content)))

    assert error.code == "xml_entities"
    with translation.override("de"):
        assert "DTD" in rejected(write(tmp_path, "l.xlsx", with_part(part, content))).messages[0]


def test_a_workbook_survives_the_checks(tmp_path):
    assert open_table(write(tmp_path, "ok.xlsx", xlsx_bytes())).count_rows() == 2
