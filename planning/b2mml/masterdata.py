"""Master data out: MaterialInformation (one MaterialDefinition per item, its BOM components
as AssemblyDefinitions) and EquipmentInformation (site → workshop → line → work center →
equipment, as the ISA-95 role-based hierarchy). A fixed number of queries whatever the size."""

from collections import defaultdict

from django.utils import timezone

from planning.b2mml import descriptions, new_root, serialize, sub, value
from planning.models import BOMLine, Equipment, Item, Line, Site, WorkCenter, Workshop
from planning.models.product import effective_q


def material_information_export(items=None) -> bytes:
    items = list(items if items is not None else Item.objects.order_by("code"))
    today = timezone.localdate()
    lines = defaultdict(list)
    for line in (BOMLine.objects.filter(effective_q(today, "bom__"),
                                        bom__item_id__in=[i.pk for i in items])
                 .select_related("child").order_by("bom__item_id", "-bom__effective_from",
                                                   "position", "id")):
        # Only the newest version in effect (the one explosion would use).
        current = lines[line.bom.item_id]
        if current and current[0].bom_id != line.bom_id:
            continue
        current.append(line)
    root = new_root("MaterialInformation")
    sub(root, "ID", "MES-items")
    sub(root, "PublishedDate", timezone.now())
    for item in items:
        md = sub(root, "MaterialDefinition")
        sub(md, "ID", item.code)
        descriptions(md, item.name, item.name_en)
        for name, text, data_type in (("kind", item.kind, "string"),
                                      ("unit", item.uom, "string"),
                                      ("discrete", item.discrete, "boolean"),
                                      ("active", item.active, "boolean")):
            prop = sub(md, "MaterialDefinitionProperty")
            sub(prop, "ID", name)
            value(prop, "Value", text, data_type)
        sub(md, "MaterialClassID", "made" if item.is_made else "bought")
        for line in lines.get(item.pk, []):
            part = sub(md, "AssemblyDefinition")
            sub(part, "ID", line.child.code)
            prop = sub(part, "MaterialDefinitionProperty")
            sub(prop, "ID", "quantity_per")
            value(prop, "Value", line.quantity_per, "decimal", line.child.uom)
            if line.scrap_pct:
                prop = sub(part, "MaterialDefinitionProperty")
                sub(prop, "ID", "scrap_pct")
                value(prop, "Value", line.scrap_pct, "decimal", "%")
        if lines.get(item.pk):
            sub(md, "AssemblyType", "Physical")
            sub(md, "AssemblyRelationship", "Permanent")
    return serialize(root)


def _equipment(parent, tag, record, level, props=()):
    el = sub(parent, tag)
    sub(el, "ID", record.code)
    descriptions(el, record.name, record.name_en)
    sub(el, "EquipmentLevel", level)
    for name, text, data_type in props:
        prop = sub(el, "EquipmentProperty")
        sub(prop, "ID", name)
        value(prop, "Value", text, data_type)
    return el


def equipment_information_export() -> bytes:
    by_parent = defaultdict(list)
    for model, parent in ((Workshop, "site_id"), (Line, "workshop_id"),
                          (WorkCenter, "line_id"), (Equipment, "work_center_id")):
        for record in model.objects.order_by("code"):
            by_parent[(model, getattr(record, parent))].append(record)
    root = new_root("EquipmentInformation")
    sub(root, "ID", "MES-plant")
    sub(root, "PublishedDate", timezone.now())
    for site in Site.objects.order_by("code"):
        s_el = _equipment(root, "Equipment", site, "Site")
        for ws in by_parent[(Workshop, site.pk)]:
            w_el = _equipment(s_el, "EquipmentChild", ws, "Area")
            for line in by_parent[(Line, ws.pk)]:
                l_el = _equipment(w_el, "EquipmentChild", line, "ProductionLine")
                for wc in by_parent[(WorkCenter, line.pk)]:
                    c_el = _equipment(l_el, "EquipmentChild", wc, "WorkCenter",
                                      [("machines", wc.machines, "integer")])
                    for eq in by_parent[(Equipment, wc.pk)]:
                        _equipment(c_el, "EquipmentChild", eq, "WorkUnit",
                                   [("model", eq.model_no, "string")] if eq.model_no else [])
    return serialize(root)
