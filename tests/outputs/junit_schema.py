"""Validate JUnit XML against fixtures/junit-ant-subset.xsd with a real XML Schema validator."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import xmlschema


class Schema:
    """The Ant/Jenkins JUnit layout CI servers read, as an XSD; ``validate`` lists every violation."""

    def __init__(self, path: Path) -> None:
        self._schema = xmlschema.XMLSchema(str(path))

    def validate(self, root: ET.Element) -> list[str]:
        return [f"{error.path}: {error.reason}" for error in self._schema.iter_errors(ET.tostring(root, "unicode"))]
