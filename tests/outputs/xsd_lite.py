"""Check an XML document against the XSD subset in fixtures/junit-ant-subset.xsd, stdlib only.

Understands global xs:element declarations with an inline xs:complexType made of one xs:sequence of
``xs:element ref`` / ``xs:choice`` particles (minOccurs/maxOccurs), xs:attribute (use, type), simple
string elements (no child elements allowed), and xs:simpleType restrictions with an xs:pattern.
Undeclared attributes and undeclared child elements are errors.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

XS = "{http://www.w3.org/2001/XMLSchema}"
_BUILTIN = {
    "xs:string": r"(?s).*",
    "xs:token": r"\S(?:.*\S)?|",
    "xs:int": r"[+-]?[0-9]+",
    "xs:decimal": r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)",
    "xs:dateTime": r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})?",
}


@dataclass
class Particle:
    names: tuple[str, ...]
    min: int
    max: float


@dataclass
class ElementDecl:
    name: str
    attributes: dict[str, tuple[str, bool]] = field(default_factory=dict)  # name -> (type, required)
    particles: list[Particle] = field(default_factory=list)
    simple: bool = False


def _occurs(node: ET.Element) -> tuple[int, float]:
    mx = node.get("maxOccurs", "1")
    return int(node.get("minOccurs", "1")), float("inf") if mx == "unbounded" else float(mx)


class Schema:
    def __init__(self, path: Path) -> None:
        root = ET.parse(path).getroot()
        self.types: dict[str, str] = dict(_BUILTIN)
        for st in root.findall(f"{XS}simpleType"):
            pat = st.find(f"{XS}restriction/{XS}pattern")
            assert pat is not None, "simpleType without pattern unsupported"
            self.types[st.get("name", "")] = pat.get("value", "")
        self.elements: dict[str, ElementDecl] = {}
        for el in root.findall(f"{XS}element"):
            decl = ElementDecl(el.get("name", ""))
            ct = el.find(f"{XS}complexType")
            if ct is None:
                decl.simple = True
            else:
                for a in ct.findall(f"{XS}attribute"):
                    decl.attributes[a.get("name", "")] = (a.get("type", "xs:string"), a.get("use") == "required")
                seq = ct.find(f"{XS}sequence")
                for p in [] if seq is None else list(seq):
                    lo, hi = _occurs(p)
                    if p.tag == f"{XS}element":
                        decl.particles.append(Particle((p.get("ref", ""),), lo, hi))
                    elif p.tag == f"{XS}choice":
                        names = tuple(c.get("ref", "") for c in p.findall(f"{XS}element"))
                        decl.particles.append(Particle(names, lo, hi))
                    else:
                        raise AssertionError(f"unsupported particle {p.tag}")
            self.elements[decl.name] = decl

    def validate(self, root: ET.Element) -> list[str]:
        errors: list[str] = []
        self._check(root, f"/{root.tag}", errors)
        return errors

    def _check(self, el: ET.Element, where: str, errors: list[str]) -> None:
        decl = self.elements.get(el.tag)
        if decl is None:
            errors.append(f"{where}: element {el.tag!r} not declared")
            return
        children = list(el)
        if decl.simple:
            if children:
                errors.append(f"{where}: simple element has child elements")
            if el.attrib:
                errors.append(f"{where}: simple element has attributes {sorted(el.attrib)}")
            return
        for name, (typ, required) in decl.attributes.items():
            value = el.get(name)
            if value is None:
                if required:
                    errors.append(f"{where}: missing required attribute {name!r}")
                continue
            pattern = self.types.get(typ)
            if pattern is None:
                errors.append(f"{where}: unknown type {typ}")
            elif re.fullmatch(pattern, value) is None:
                errors.append(f"{where}: attribute {name}={value!r} is not a valid {typ}")
        for name in el.attrib:
            if name not in decl.attributes:
                errors.append(f"{where}: undeclared attribute {name!r}")
        i = 0
        for p in decl.particles:
            n = 0
            while i < len(children) and n < p.max and children[i].tag in p.names:
                i += 1
                n += 1
            if n < p.min:
                errors.append(f"{where}: expected at least {p.min} of {p.names}, found {n}")
        if i < len(children):
            errors.append(f"{where}: unexpected element {children[i].tag!r} at position {i}")
        for pos, c in enumerate(children):
            self._check(c, f"{where}/{c.tag}[{pos}]", errors)
