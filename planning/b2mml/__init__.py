"""ISA-95 B2MML V0701 (namespace http://www.mesa.org/xml/B2MML): safe parsing, building and
validation against MESA's XSDs.

The XSDs are not shipped with the project: they are read from MES_B2MML_XSD_DIR (default
../shared/standards/b2mml/V0701 beside the project). Without them documents are still parsed
and checked field by field, only not validated against the schema (`schema_available()`).
MESA's folder lacks the BatchML files that B2MML-Common pulls in for its information-object
list; a resolver stands in for them with open types, which none of our documents use.
"""

import datetime
import functools
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

NS = "http://www.mesa.org/xml/B2MML"
XSD_FILES = {
    "OperationsSchedule": "B2MML-OperationsSchedule.xsd",
    "OperationsPerformance": "B2MML-OperationsPerformance.xsd",
    "MaterialInformation": "B2MML-Material.xsd",
    "EquipmentInformation": "B2MML-Equipment.xsd",
}
# Types B2MML-InformationObject names from the (absent) BatchML schemas.
BATCHML_TYPES = ("BatchProductionRecordType", "GRecipeType", "ResourceConstraintType",
                 "ProcessElementType")


def xsd_dir() -> Path:
    configured = getattr(settings, "MES_B2MML_XSD_DIR", None)
    if configured:
        return Path(configured)
    return Path(settings.BASE_DIR).parent / "shared" / "standards" / "b2mml" / "V0701"


def schema_available() -> bool:
    return (xsd_dir() / XSD_FILES["OperationsSchedule"]).is_file()


class _BatchMLStandIn(etree.Resolver):
    def __init__(self):
        super().__init__()
        self.types_given = False

    def resolve(self, url, pubid, context):
        path = Path(url)
        if path.exists() or not path.name.startswith("BatchML-"):
            return None
        types = ()
        if not path.name.endswith("Extensions.xsd") and not self.types_given:
            types, self.types_given = BATCHML_TYPES, True
        body = "".join(
            f'<xsd:complexType name="{t}"><xsd:sequence><xsd:any processContents="skip" '
            f'minOccurs="0" maxOccurs="unbounded"/></xsd:sequence></xsd:complexType>'
            for t in types)
        return self.resolve_string(
            f'<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">{body}</xsd:schema>',
            context)


@functools.cache
def _schema(root_name: str, folder: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_BatchMLStandIn())
    return etree.XMLSchema(etree.parse(str(Path(folder) / XSD_FILES[root_name]), parser))


def validation_errors(doc: etree._Element, root_name: str) -> list[dict]:
    """XSD errors of a document as {"field", "code", "message"} (empty: valid)."""
    schema = _schema(root_name, str(xsd_dir()))
    if schema.validate(doc):
        return []
    return [{"field": e.path or None, "code": "schema",
             "message": f"line {e.line}: {e.message}"} for e in schema.error_log][:50]


def parse(data: bytes) -> etree._Element:
    """Parse untrusted XML: no network, no entity expansion, no DTDs."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, dtd_validation=False,
                             load_dtd=False, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValidationError({"xml": ValidationError(
            _("This is not well-formed XML: %(e)s") % {"e": exc}, code="malformed")}) from None
    if not isinstance(root.tag, str):
        raise ValidationError({"xml": ValidationError(_("The document has no root element."),
                                                      code="malformed")})
    return root


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def sub(parent, name: str, text=None, **attrs) -> etree._Element:
    el = etree.SubElement(parent, q(name), {k: str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = text if isinstance(text, str) else fmt(text)
    return el


def new_root(name: str) -> etree._Element:
    return etree.Element(q(name), nsmap={None: NS})


def serialize(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def fmt(value) -> str:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def quantity(parent, name: str, value: Decimal, uom: str, key: str | None = None):
    el = sub(parent, name)
    sub(el, "QuantityString", value)
    sub(el, "DataType", "decimal")
    sub(el, "UnitOfMeasure", uom)
    if key:
        sub(el, "Key", key)
    return el


def value(parent, name: str, text, data_type: str = "string", uom: str | None = None):
    el = sub(parent, name)
    sub(el, "ValueString", text)
    sub(el, "DataType", data_type)
    if uom:
        sub(el, "UnitOfMeasure", uom)
    return el


def text_of(el, name: str) -> str | None:
    child = el.find(q(name)) if el is not None else None
    return child.text.strip() if child is not None and child.text else None


def descriptions(parent, zh: str, en: str = "") -> None:
    sub(parent, "Description", zh, languageID="zh-CN")
    if en:
        sub(parent, "Description", en, languageID="en")
