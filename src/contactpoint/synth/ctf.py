"""A school's pupils as a DfE Common Transfer File (CTF) XML document."""

from __future__ import annotations

from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import numpy.typing as npt

View = dict[str, npt.NDArray[Any]]

CTF_VERSION = "22.0"
RELATIONSHIP_CODE = {
    "mother": "PAM", "father": "PAF", "step-father": "STP", "step-mother": "STP",
    "grandmother": "FAM", "grandfather": "FAM", "parent": "PAR",
}
TITLE = {"mother": "Mrs", "father": "Mr", "step-father": "Mr", "grandmother": "Mrs"}


def _el(tag: str, value: str, indent: str) -> str:
    return f"{indent}<{tag}>{escape(value)}</{tag}>\n" if value else ""


def _address(v: View, i: int, bs7666: bool, ind: str) -> str:
    line1 = str(v["address_line_1"][i])
    line2 = str(v["address_line_2"][i])
    town = str(v["town"][i])
    postcode = str(v["postcode"][i])
    out = [f"{ind}<Address>\n"]
    if bs7666:
        flat = line1 if line2 else ""
        number, _, street = (line2 or line1).partition(" ")
        out.append(f"{ind}  <BS7666Address>\n")
        out.append(_el("SAON", flat, ind + "    "))
        out.append(_el("PAON", number, ind + "    "))
        out.append(_el("Street", street, ind + "    "))
        out.append(_el("Town", town, ind + "    "))
        out.append(_el("PostCode", postcode, ind + "    "))
        out.append(f"{ind}  </BS7666Address>\n")
    else:
        out.append(f"{ind}  <AddressLines>\n")
        for k, line in enumerate((x for x in (line1, line2, town) if x), start=1):
            out.append(_el(f"AddressLine{k}", line, ind + "    "))
        out.append(f"{ind}  </AddressLines>\n")
        out.append(_el("PostCode", postcode, ind + "  "))
    out.append(f"{ind}</Address>\n")
    return "".join(out)


def _contact(v: View, i: int, k: int, ind: str) -> str:
    name = str(v[f"parent_{k}_name"][i])
    if not name:
        return ""
    rel = str(v[f"parent_{k}_relationship"][i])
    fore, _, sur = name.partition(" ")
    pr = "true" if v[f"parent_{k}_parental_responsibility"][i] == "Y" else "false"
    phone = str(v[f"parent_{k}_phone"][i])
    parts = [f"{ind}<Contact>\n", _el("Order", str(k), ind + "  "),
             _el("Title", TITLE.get(rel, "Ms"), ind + "  "), _el("Forename", fore, ind + "  "),
             _el("Surname", sur, ind + "  "),
             _el("Relationship", RELATIONSHIP_CODE.get(rel, "OTH"), ind + "  "),
             _el("Responsibility", pr, ind + "  ")]
    if phone:
        parts += [f"{ind}  <Phones>\n", f"{ind}    <Phone>\n",
                  _el("TelephoneType", "M", ind + "      "),
                  _el("PhoneNo", phone, ind + "      "), f"{ind}    </Phone>\n",
                  f"{ind}  </Phones>\n"]
    parts.append(f"{ind}</Contact>\n")
    return "".join(parts)


def ctf_document(v: View, rows: list[int], la: int, estab: int, urn: int, school: str,
                 extract_date: date, bs7666: bool) -> str:
    academic_year = extract_date.year if extract_date.month >= 9 else extract_date.year - 1
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>\n  <Header>\n',
        "    <DocumentName>Common Transfer File</DocumentName>\n",
        f"    <CTFversion>{CTF_VERSION}</CTFversion>\n",
        f"    <DateTime>{extract_date.isoformat()}T00:00:00</DateTime>\n",
        "    <DocumentQualifier>full</DocumentQualifier>\n",
        "    <SupplierID>Contactpoint synthetic MIS</SupplierID>\n",
        "    <SourceSchool>\n",
        f"      <LEA>{la:03d}</LEA>\n      <Estab>{estab:04d}</Estab>\n",
        f"      <URN>{urn}</URN>\n",
        f"      <SchoolName>{escape(school)}</SchoolName>\n",
        f"      <AcademicYear>{academic_year}</AcademicYear>\n",
        "    </SourceSchool>\n",
        f"    <DestSchool>\n      <LEA>{la:03d}</LEA>\n      <Estab>0000</Estab>\n"
        "    </DestSchool>\n",
        "  </Header>\n  <CTFpupilData>\n",
    ]
    for i in rows:
        ind = "      "
        sex = str(v["sex"][i])
        out.append("    <Pupil>\n")
        out.append(_el("UPN", str(v["upn"][i]), ind))
        out.append(_el("Surname", str(v["family_name"][i]), ind))
        out.append(_el("Forename", str(v["given_name"][i]), ind))
        out.append(_el("MiddleNames", str(v["middle_names"][i]), ind))
        out.append(_el("PreferredForename", str(v["preferred_name"][i]), ind))
        out.append(_el("PreferredSurname", str(v["family_name"][i]), ind))
        out.append(_el("FormerSurname", str(v["former_family_name"][i]), ind))
        out.append(_el("DOB", str(v["date_of_birth"][i]), ind))
        out.append(_el("Gender", sex if sex in ("M", "F") else "", ind))
        out.append(_address(v, i, bs7666, ind))
        contacts = _contact(v, i, 1, ind + "  ") + _contact(v, i, 2, ind + "  ")
        if contacts:
            out.append(f"{ind}<Contacts>\n{contacts}{ind}</Contacts>\n")
        out.append("    </Pupil>\n")
    out.append("  </CTFpupilData>\n</CTfile>\n")
    return "".join(out)
