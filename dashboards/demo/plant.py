"""The demo plant: two workshops (机加工 machining, 装配 assembly), ~20 work centers with shift
calendars, ~10 products with 3–5-level BOMs and routings, inspection plans, reason codes and
~30 employees. Everything is created through the same services as the UI (master data saves
are audit-logged as "demo plant")."""

import datetime
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import transaction

from execution.models import DowntimeReason, ScrapReason
from mes.demo import demo_password_hash, demo_users_ensure
from mes.models import User
from mes.roles import MANAGER, OPERATOR, PLANNER, QC_INSPECTOR, WORKSHOP_LEAD
from planning.models import (
    BOMLine,
    BOMVersion,
    Equipment,
    Item,
    Line,
    Routing,
    RoutingStep,
    Shift,
    ShiftCalendar,
    Site,
    WorkCenter,
    Workshop,
)
from planning.services.masterdata import master_record_save
from quality.models import Characteristic, DefectCode, InspectionPlan

WHY = "演示工厂 / demo plant"

# (code, zh, en, workshop, [(line code, zh, en, [(wc code, zh, en, machines, calendar)])])
PLANT = [
    ("MACH", "机加工车间", "Machining workshop", [
        ("L-TURN", "车削线", "Turning line", [
            ("WC-CNC1", "数控车床组1", "CNC lathes 1", 3, "2S"),
            ("WC-CNC2", "数控车床组2", "CNC lathes 2", 2, "2S"),
            ("WC-SAW", "下料锯床", "Saw cutting", 1, "1S")]),
        ("L-MILL", "铣削线", "Milling line", [
            ("WC-VMC", "立式加工中心", "Vertical machining centers", 3, "2S"),
            ("WC-HMC", "卧式加工中心", "Horizontal machining center", 1, "2S"),
            ("WC-DRL", "钻攻中心", "Drilling & tapping", 2, "2S"),
            ("WC-DEB", "去毛刺", "Deburring", 2, "1S")]),
        ("L-HEAT", "热处理与磨削线", "Heat treatment & grinding", [
            ("WC-HT", "热处理炉", "Heat treatment furnace", 1, "3S"),
            ("WC-GRD", "外圆磨床", "Cylindrical grinders", 2, "2S"),
            ("WC-QCM", "机加检验站", "Machining QC station", 2, "2S")]),
    ]),
    ("ASSY", "装配车间", "Assembly workshop", [
        ("L-SUB", "部件装配线", "Sub-assembly line", [
            ("WC-SA1", "部装工位1", "Sub-assembly 1", 2, "2S"),
            ("WC-SA2", "部装工位2", "Sub-assembly 2", 2, "2S"),
            ("WC-WLD", "焊接工位", "Welding", 1, "1S")]),
        ("L-FIN", "总装线", "Final assembly line", [
            ("WC-FA1", "总装工位1", "Final assembly 1", 2, "2S"),
            ("WC-FA2", "总装工位2", "Final assembly 2", 1, "2S"),
            ("WC-PNT", "喷涂房", "Paint booth", 1, "1S")]),
        ("L-TEST", "测试包装线", "Test & pack line", [
            ("WC-TST", "性能测试台", "Performance test bench", 2, "2S"),
            ("WC-FQC", "终检站", "Final QC", 1, "2S"),
            ("WC-PCK", "包装", "Packing", 2, "1S")]),
    ]),
]

CALENDARS = {
    "1S": ("单班（白班）", "One shift", [("白班", "08:00", "17:00", [["12:00", "13:00"]])],
           range(6)),
    "2S": ("两班", "Two shifts", [("早班", "06:00", "14:00", [["10:00", "10:30"]]),
                                  ("中班", "14:00", "22:00", [["18:00", "18:30"]])], range(6)),
    "3S": ("三班连续", "Three shifts", [("早班", "06:00", "14:00", []),
                                       ("中班", "14:00", "22:00", []),
                                       ("夜班", "22:00", "06:00", [])], range(7)),
}


# Items: code -> (zh, en, kind, unit, whole units)
ITEMS = {
    "GB-100": ("减速机 GB-100", "Gearbox GB-100", "make", "台", True),
    "GB-200": ("大型减速机 GB-200", "Large gearbox GB-200", "make", "台", True),
    "MT-5": ("电机 MT-5", "Motor MT-5", "make", "台", True),
    "PM-50": ("离心水泵 PM-50", "Centrifugal pump PM-50", "make", "台", True),
    "VL-25": ("截止阀 VL-25", "Globe valve VL-25", "make", "个", True),
    "CV-300": ("输送机模块 CV-300", "Conveyor module CV-300", "make", "套", True),
    "HY-10": ("液压缸 HY-10", "Hydraulic cylinder HY-10", "make", "支", True),
    "FN-400": ("轴流风机 FN-400", "Axial fan FN-400", "make", "台", True),
    "CP-20": ("弹性联轴器 CP-20", "Flexible coupling CP-20", "make", "个", True),
    "SP-KIT": ("减速机备件包", "Gearbox spare kit", "make", "包", True),
    "SA-HOUSING": ("箱体组件", "Housing assembly", "make", "件", True),
    "SA-SHAFT": ("输出轴组件", "Output shaft assembly", "make", "件", True),
    "SA-STATOR": ("定子组件", "Stator assembly", "make", "件", True),
    "SA-ROTOR": ("转子组件", "Rotor assembly", "make", "件", True),
    "SA-IMPELLER": ("叶轮组件", "Impeller assembly", "make", "件", True),
    "SA-BONNET": ("阀盖组件", "Bonnet assembly", "make", "件", True),
    "SA-FRAME": ("机架组件", "Frame assembly", "make", "件", True),
    "SA-PISTON": ("活塞组件", "Piston assembly", "make", "件", True),
    "SA-FANCASE": ("风机壳组件", "Fan casing assembly", "make", "件", True),
    "P-HOUSING": ("箱体", "Housing", "make", "件", True),
    "P-SHAFT": ("输出轴", "Output shaft", "make", "件", True),
    "P-GEAR": ("齿轮", "Gear", "make", "件", True),
    "P-GEARBLANK": ("齿坯", "Gear blank", "make", "件", True),
    "P-STATORCORE": ("定子铁芯", "Stator core", "make", "件", True),
    "P-ROTORSHAFT": ("转子轴", "Rotor shaft", "make", "件", True),
    "P-ENDCOVER": ("端盖", "End cover", "make", "件", True),
    "P-IMPELLER": ("叶轮", "Impeller", "make", "件", True),
    "P-PUMPBODY": ("泵体", "Pump body", "make", "件", True),
    "P-VALVEBODY": ("阀体", "Valve body", "make", "件", True),
    "P-STEM": ("阀杆", "Valve stem", "make", "件", True),
    "P-BONNET": ("阀盖", "Bonnet", "make", "件", True),
    "P-FRAMETUBE": ("机架管", "Frame tube", "make", "件", True),
    "P-BARREL": ("缸筒", "Cylinder barrel", "make", "件", True),
    "P-ROD": ("活塞杆", "Piston rod", "make", "件", True),
    "P-PISTON": ("活塞", "Piston", "make", "件", True),
    "P-FANBLADE": ("叶片", "Fan blade", "make", "件", True),
    "P-FANCASE": ("风机壳", "Fan casing", "make", "件", True),
    "P-HUB": ("轴套", "Hub", "make", "件", True),
    "R-BAR45": ("45号圆钢", "Steel bar C45", "buy", "kg", False),
    "R-BAR40CR": ("40Cr圆钢", "Steel bar 40Cr", "buy", "kg", False),
    "R-BAR304": ("304不锈钢棒", "Stainless bar 304", "buy", "kg", False),
    "R-CASTHSG": ("箱体铸件", "Housing casting", "buy", "件", True),
    "R-CASTCOVER": ("端盖铸件", "Cover casting", "buy", "件", True),
    "R-CASTIMP": ("叶轮铸件", "Impeller casting", "buy", "件", True),
    "R-CASTBODY": ("泵体铸件", "Pump body casting", "buy", "件", True),
    "R-CASTVB": ("阀体铸件", "Valve body casting", "buy", "件", True),
    "R-CASTBON": ("阀盖铸件", "Bonnet casting", "buy", "件", True),
    "B-BRG6205": ("深沟球轴承6205", "Ball bearing 6205", "buy", "个", True),
    "B-SEAL": ("骨架油封", "Oil seal", "buy", "个", True),
    "B-BOLTM8": ("螺栓M8×30", "Bolt M8x30", "buy", "个", True),
    "B-KEY": ("平键", "Parallel key", "buy", "个", True),
    "B-SILICON": ("硅钢片", "Silicon steel lamination", "buy", "kg", False),
    "B-WIRE": ("漆包线", "Enamelled wire", "buy", "kg", False),
    "B-MECHSEAL": ("机械密封", "Mechanical seal", "buy", "套", True),
    "B-TUBE": ("方管", "Square tube", "buy", "m", False),
    "B-BELT": ("输送带", "Conveyor belt", "buy", "m", False),
    "B-TUBEHON": ("珩磨管", "Honed tube", "buy", "m", False),
    "B-SEALKIT": ("液压密封组件", "Hydraulic seal kit", "buy", "套", True),
    "B-ALSHEET": ("铝板", "Aluminium sheet", "buy", "kg", False),
    "B-STEELSHEET": ("钢板", "Steel sheet", "buy", "kg", False),
    "B-ELASTOMER": ("弹性体", "Elastomer insert", "buy", "个", True),
    "B-PAINT": ("面漆", "Top coat paint", "buy", "kg", False),
}

# parent -> [(child, quantity per, scrap %, consumed at step)]
BOMS = {
    "GB-100": [("SA-HOUSING", 1, 0, 10), ("SA-SHAFT", 1, 0, 10), ("B-BRG6205", 4, 0, 10),
               ("B-SEAL", 2, 2, 10), ("B-BOLTM8", 12, 1, 10), ("B-PAINT", "0.4", 5, 20)],
    "GB-200": [("SA-HOUSING", 1, 0, 10), ("SA-SHAFT", 2, 0, 10), ("P-GEAR", 2, 0, 10),
               ("B-BRG6205", 6, 0, 10), ("B-SEAL", 4, 2, 10), ("B-PAINT", "0.7", 5, 20)],
    "MT-5": [("SA-STATOR", 1, 0, 10), ("SA-ROTOR", 1, 0, 10), ("P-ENDCOVER", 2, 0, 10),
             ("B-BRG6205", 2, 0, 10), ("B-PAINT", "0.2", 5, 20)],
    "PM-50": [("MT-5", 1, 0, 10), ("SA-IMPELLER", 1, 0, 10), ("P-PUMPBODY", 1, 0, 10),
              ("B-MECHSEAL", 1, 0, 10), ("B-PAINT", "0.3", 5, 20)],
    "VL-25": [("P-VALVEBODY", 1, 0, 10), ("P-STEM", 1, 0, 10), ("SA-BONNET", 1, 0, 10),
              ("B-BOLTM8", 8, 1, 10)],
    "CV-300": [("SA-FRAME", 1, 0, 10), ("GB-100", 1, 0, 10), ("B-BELT", "6.5", 3, 10)],
    "HY-10": [("P-BARREL", 1, 0, 10), ("P-ROD", 1, 0, 10), ("SA-PISTON", 1, 0, 10),
              ("B-SEALKIT", 1, 0, 10)],
    "FN-400": [("MT-5", 1, 0, 10), ("SA-FANCASE", 1, 0, 10), ("P-FANBLADE", 6, 2, 10)],
    "CP-20": [("P-HUB", 2, 0, 10), ("B-ELASTOMER", 1, 0, 10)],
    "SP-KIT": [("P-GEAR", 2, 0, 10), ("P-SHAFT", 1, 0, 10), ("B-BRG6205", 4, 0, 10)],
    "SA-HOUSING": [("P-HOUSING", 1, 0, 10), ("B-BOLTM8", 6, 1, 10)],
    "SA-SHAFT": [("P-SHAFT", 1, 0, 10), ("P-GEAR", 1, 0, 10), ("B-KEY", 1, 0, 10)],
    "SA-STATOR": [("P-STATORCORE", 1, 0, 10), ("B-WIRE", "1.2", 3, 10)],
    "SA-ROTOR": [("P-ROTORSHAFT", 1, 0, 10), ("B-SILICON", "2.5", 2, 10)],
    "SA-IMPELLER": [("P-IMPELLER", 1, 0, 10), ("B-KEY", 1, 0, 10)],
    "SA-BONNET": [("P-BONNET", 1, 0, 10), ("B-SEAL", 1, 2, 10)],
    "SA-FRAME": [("P-FRAMETUBE", 4, 0, 10), ("B-BOLTM8", 16, 1, 10)],
    "SA-PISTON": [("P-PISTON", 1, 0, 10), ("B-SEAL", 2, 2, 10)],
    "SA-FANCASE": [("P-FANCASE", 1, 0, 10), ("B-BOLTM8", 8, 1, 10)],
    "P-HOUSING": [("R-CASTHSG", 1, 2, 10)],
    "P-SHAFT": [("R-BAR45", "2.4", 3, 10)],
    "P-GEAR": [("P-GEARBLANK", 1, 2, 10)],
    "P-GEARBLANK": [("R-BAR40CR", "1.8", 3, 10)],
    "P-STATORCORE": [("B-SILICON", "3.5", 2, 10)],
    "P-ROTORSHAFT": [("R-BAR45", "1.6", 3, 10)],
    "P-ENDCOVER": [("R-CASTCOVER", 1, 2, 10)],
    "P-IMPELLER": [("R-CASTIMP", 1, 2, 10)],
    "P-PUMPBODY": [("R-CASTBODY", 1, 2, 10)],
    "P-VALVEBODY": [("R-CASTVB", 1, 2, 10)],
    "P-STEM": [("R-BAR304", "0.6", 3, 10)],
    "P-BONNET": [("R-CASTBON", 1, 2, 10)],
    "P-FRAMETUBE": [("B-TUBE", "1.5", 3, 10)],
    "P-BARREL": [("B-TUBEHON", "0.5", 2, 10)],
    "P-ROD": [("R-BAR45", "1.2", 3, 10)],
    "P-PISTON": [("R-BAR45", "0.5", 3, 10)],
    "P-FANBLADE": [("B-ALSHEET", "0.8", 4, 10)],
    "P-FANCASE": [("B-STEELSHEET", 6, 4, 10)],
    "P-HUB": [("R-BAR45", "0.7", 3, 10)],
}

# Stations that inspect and make nothing: units failed there are reworked where they were made.
INSPECTION_STATIONS = frozenset({"WC-QCM", "WC-FQC"})

# Routing templates: [(seq, zh, en, work center, setup min, run min/unit, plan, wait for QC)]
TURNED = [(10, "下料", "Cut", "WC-SAW", 10, "1.0", "", False),
          (20, "粗车", "Rough turning", "WC-CNC1", 15, "4", "", False),
          (30, "精车", "Finish turning", "WC-CNC2", 15, "5", "", False),
          (40, "尺寸检验", "Dimension check", "WC-QCM", 0, "1.5", "IP-SHAFT", True)]
GEARED = [(10, "滚齿", "Hobbing", "WC-HMC", 30, "6", "", False),
          (20, "热处理", "Heat treatment", "WC-HT", 20, "2", "", False),
          (30, "磨齿", "Gear grinding", "WC-GRD", 20, "5", "", False),
          (40, "齿轮检验", "Gear inspection", "WC-QCM", 0, "2", "IP-GEAR", True)]
CAST = [(10, "粗铣", "Rough milling", "WC-VMC", 20, "6", "", False),
        (20, "钻孔攻丝", "Drilling & tapping", "WC-DRL", 10, "3", "", False),
        (30, "去毛刺", "Deburring", "WC-DEB", 5, "2", "", False),
        (40, "铸件加工检验", "Machined casting check", "WC-QCM", 0, "1.5", "IP-CAST", True)]
WELDED = [(10, "下料", "Cut", "WC-SAW", 10, "1.5", "", False),
          (20, "焊接", "Welding", "WC-WLD", 20, "8", "", False),
          (30, "去毛刺", "Deburring", "WC-DEB", 5, "2", "", False)]
SUB = [(10, "部件装配", "Sub-assembly", "WC-SA1", 10, "8", "", False)]
SUB2 = [(10, "部件装配", "Sub-assembly", "WC-SA2", 10, "9", "", False)]
FINAL = [(10, "总装", "Final assembly", "WC-FA1", 20, "25", "", False),
         (20, "喷涂", "Painting", "WC-PNT", 15, "6", "", False),
         (30, "性能测试", "Performance test", "WC-TST", 5, "10", "IP-FINAL", True),
         (40, "包装", "Packing", "WC-PCK", 5, "3", "", False)]
FINAL2 = [(10, "总装", "Final assembly", "WC-FA2", 20, "35", "", False),
          (20, "性能测试", "Performance test", "WC-TST", 5, "12", "IP-FINAL", True),
          (30, "终检", "Final inspection", "WC-FQC", 0, "4", "", False),
          (40, "包装", "Packing", "WC-PCK", 5, "4", "", False)]
ROUTINGS = {
    **dict.fromkeys(("P-SHAFT", "P-ROTORSHAFT", "P-STEM", "P-ROD", "P-PISTON", "P-HUB",
                     "P-GEARBLANK"), TURNED),
    "P-GEAR": GEARED,
    **dict.fromkeys(("P-HOUSING", "P-ENDCOVER", "P-IMPELLER", "P-PUMPBODY", "P-VALVEBODY",
                     "P-BONNET"), CAST),
    **dict.fromkeys(("P-FRAMETUBE", "P-FANCASE"), WELDED),
    "P-BARREL": [(10, "下料", "Cut", "WC-SAW", 10, "1.5", "", False),
                 (20, "镗孔", "Boring", "WC-HMC", 20, "8", "", False),
                 (30, "缸筒检验", "Barrel check", "WC-QCM", 0, "2", "IP-SHAFT", True)],
    "P-STATORCORE": [(10, "叠压", "Stacking", "WC-SA2", 15, "4", "", False)],
    "P-FANBLADE": [(10, "铣削成型", "Milling", "WC-VMC", 10, "3", "", False),
                   (20, "去毛刺", "Deburring", "WC-DEB", 5, "1", "", False)],
    **dict.fromkeys(("SA-HOUSING", "SA-SHAFT", "SA-IMPELLER", "SA-BONNET", "SA-PISTON"), SUB),
    **dict.fromkeys(("SA-STATOR", "SA-ROTOR", "SA-FRAME", "SA-FANCASE"), SUB2),
    **dict.fromkeys(("GB-100", "MT-5", "PM-50", "FN-400"), FINAL),
    **dict.fromkeys(("GB-200", "CV-300", "HY-10", "VL-25"), FINAL2),
    "CP-20": [(10, "装配", "Assembly", "WC-SA1", 5, "3", "", False),
              (20, "终检", "Final inspection", "WC-FQC", 0, "1", "IP-FINAL", False)],
    "SP-KIT": [(10, "配套包装", "Kitting & packing", "WC-PCK", 5, "4", "", False)],
}

# code -> (zh, en, sampling, n, percent, max loops, [(name zh, kind, nominal, lower, upper, unit)])
PLANS = {
    "IP-SHAFT": ("轴类尺寸检验", "Shaft dimensions", "percent", 1, 20, 2, [
        ("外径 φ25h6", "measured", "25.000", "24.987", "25.000", "mm"),
        ("总长", "measured", "120.0", "119.9", "120.1", "mm"),
        ("表面粗糙度", "pass_fail", None, None, None, "")]),
    "IP-GEAR": ("齿轮检验", "Gear inspection", "n_per_lot", 3, 10, 2, [
        ("齿厚", "measured", "3.140", "3.120", "3.160", "mm"),
        ("硬度", "measured", "60", "58", "62", "HRC")]),
    "IP-CAST": ("铸件加工检验", "Machined casting", "first", 1, 10, 1, [
        ("轴承孔径 φ52H7", "measured", "52.015", "52.000", "52.030", "mm"),
        ("外观", "visual", None, None, None, "")]),
    "IP-FINAL": ("整机性能测试", "Final performance test", "every", 1, 100, 2, [
        ("噪音", "measured", "68", None, "75", "dB"),
        ("温升", "measured", "30", None, "40", "K"),
        ("外观与铭牌", "pass_fail", None, None, None, "")]),
}

DEFECTS = [("D01", "尺寸超差", "Out of tolerance"), ("D02", "表面划伤", "Surface scratch"),
           ("D03", "硬度不足", "Insufficient hardness"), ("D04", "毛刺", "Burrs"),
           ("D05", "装配不良", "Assembly fault"), ("D06", "噪音超标", "Too noisy"),
           ("D07", "漏油", "Oil leak"), ("D08", "涂装缺陷", "Paint defect")]
SCRAP = [("SR-DIM", "尺寸超差", "Out of tolerance"), ("SR-MAT", "材料缺陷", "Material defect"),
         ("SR-SET", "调机废品", "Set-up scrap"), ("SR-DMG", "搬运损坏", "Handling damage")]
DOWNTIME = [("DT-BRK", "设备故障", "Breakdown"), ("DT-TOOL", "刀具损坏/换刀", "Tool change"),
            ("DT-MAT", "待料", "Waiting for material"), ("DT-MAINT", "计划保养",
                                                         "Planned maintenance"),
            ("DT-QC", "质量停机", "Quality stop"), ("DT-PWR", "停电", "Power cut")]

# (username, role, zh name, en name, badge, work centers)
PEOPLE = [
    ("planner2", PLANNER, "计划员 赵敏", "Zhao Min", "B-PL-002", []),
    ("lead_mach", WORKSHOP_LEAD, "机加车间主任 孙涛", "Sun Tao", "B-LD-002", []),
    ("lead_assy", WORKSHOP_LEAD, "装配车间主任 周丽", "Zhou Li", "B-LD-003", []),
    ("lead_qc", WORKSHOP_LEAD, "质量主管 吴刚", "Wu Gang", "B-LD-004", []),
    ("qc2", QC_INSPECTOR, "质检员 郑华", "Zheng Hua", "B-QC-002", []),
    ("qc3", QC_INSPECTOR, "质检员 冯雪", "Feng Xue", "B-QC-003", []),
    ("qc4", QC_INSPECTOR, "质检员 何斌", "He Bin", "B-QC-004", []),
    ("manager2", MANAGER, "生产副总 林峰", "Lin Feng", "B-MG-002", []),
    ("op01", OPERATOR, "操作工 马超", "Ma Chao", "B-OP-101", ["WC-SAW", "WC-CNC1"]),
    ("op02", OPERATOR, "操作工 黄磊", "Huang Lei", "B-OP-102", ["WC-CNC1", "WC-CNC2"]),
    ("op03", OPERATOR, "操作工 罗燕", "Luo Yan", "B-OP-103", ["WC-CNC2", "WC-SAW"]),
    ("op04", OPERATOR, "操作工 高鹏", "Gao Peng", "B-OP-104", ["WC-VMC", "WC-HMC"]),
    ("op05", OPERATOR, "操作工 梁军", "Liang Jun", "B-OP-105", ["WC-VMC", "WC-DRL"]),
    ("op06", OPERATOR, "操作工 宋佳", "Song Jia", "B-OP-106", ["WC-DRL", "WC-DEB"]),
    ("op07", OPERATOR, "操作工 唐亮", "Tang Liang", "B-OP-107", ["WC-HT", "WC-GRD"]),
    ("op08", OPERATOR, "操作工 韩梅", "Han Mei", "B-OP-108", ["WC-GRD", "WC-QCM"]),
    ("op09", OPERATOR, "操作工 曹阳", "Cao Yang", "B-OP-109", ["WC-SA1", "WC-SA2"]),
    ("op10", OPERATOR, "操作工 邓波", "Deng Bo", "B-OP-110", ["WC-SA2", "WC-WLD"]),
    ("op11", OPERATOR, "操作工 许静", "Xu Jing", "B-OP-111", ["WC-FA1", "WC-FA2"]),
    ("op12", OPERATOR, "操作工 谢飞", "Xie Fei", "B-OP-112", ["WC-FA1", "WC-PNT"]),
    ("op13", OPERATOR, "操作工 韦东", "Wei Dong", "B-OP-113", ["WC-TST", "WC-FQC"]),
    ("op14", OPERATOR, "操作工 彭丹", "Peng Dan", "B-OP-114", ["WC-PCK", "WC-TST"]),
    ("op15", OPERATOR, "操作工 潘伟", "Pan Wei", "B-OP-115", ["WC-QCM", "WC-FQC"]),
]
LEADS = {"MACH": "lead_mach", "ASSY": "lead_assy"}


def _save(actor, instance):
    return master_record_save(actor=actor, instance=instance, reason=WHY)


def _time(hhmm: str) -> datetime.time:
    h, m = hhmm.split(":")
    return datetime.time(int(h), int(m))


@transaction.atomic
def demo_plant_load(in_service_from: datetime.date | None = None) -> bool:
    """Create the demo plant once (its work centers in service from `in_service_from`: the
    first day of the history the demo makes, so that OEE does not count the days before it as
    time the plant stood idle). Returns False when it is already there."""
    if Site.objects.filter(code="PLANT1").exists():
        return False
    demo_users_ensure()
    admin = User.objects.get(username="admin")
    people = {}
    hashed = demo_password_hash()
    for username, role, zh, en, badge, _wcs in PEOPLE:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, display_name=f"{zh} / {en}", badge_code=badge)
            user.password = hashed
            _save(admin, user)
            user.groups.set([Group.objects.get(name=role)])
        people[username] = user
    calendars = {}
    for code, (zh, en, shifts, days) in CALENDARS.items():
        cal = _save(admin, ShiftCalendar(code=f"CAL-{code}", name=zh, name_en=en))
        for day in days:
            for name, start, end, breaks in shifts:
                _save(admin, Shift(calendar=cal, name=name, weekday=day, start=_time(start),
                                   end=_time(end), breaks=breaks))
        calendars[code] = cal
    site = _save(admin, Site(code="PLANT1", name="一号工厂", name_en="Plant No. 1"))
    wcs = {}
    operator_demo = User.objects.get(username="operator")
    for ws_code, ws_zh, ws_en, lines in PLANT:
        ws = _save(admin, Workshop(code=ws_code, name=ws_zh, name_en=ws_en, site=site))
        lead = people[LEADS[ws_code]]
        for line_code, l_zh, l_en, centers in lines:
            line = _save(admin, Line(code=line_code, name=l_zh, name_en=l_en, workshop=ws))
            for wc_code, zh, en, machines, cal in centers:
                wc = _save(admin, WorkCenter(code=wc_code, name=zh, name_en=en, line=line,
                                             machines=machines, calendar=calendars[cal],
                                             lead=lead, cost_center=f"CC-{line_code}",
                                             in_service_from=in_service_from))
                for n in range(1, min(machines, 2) + 1):
                    _save(admin, Equipment(code=f"{wc_code}-{n:02d}".replace("WC-", "EQ-"),
                                           name=f"{zh} {n}#", name_en=f"{en} #{n}",
                                           work_center=wc, model_no=f"M-{wc_code[3:]}{n}"))
                wcs[wc_code] = wc
    for username, _role, _zh, _en, _badge, centers in PEOPLE:
        for code in centers:
            wcs[code].operators.add(people[username])
    for wc in wcs.values():
        wc.operators.add(operator_demo)  # the guided tour's operator may work anywhere
    items = {}
    for code, (zh, en, kind, uom, discrete) in ITEMS.items():
        items[code] = _save(admin, Item(code=code, name=zh, name_en=en, kind=kind, uom=uom,
                                        discrete=discrete))
    for parent, lines in BOMS.items():
        bom = _save(admin, BOMVersion(item=items[parent], version="A",
                                      effective_from=datetime.date(2025, 1, 1)))
        for pos, (child, qty, scrap, step) in enumerate(lines, start=1):
            _save(admin, BOMLine(bom=bom, position=pos * 10, child=items[child],
                                 quantity_per=Decimal(str(qty)), scrap_pct=Decimal(scrap),
                                 operation_seq=step))
    for code, steps in ROUTINGS.items():
        routing = _save(admin, Routing(item=items[code], version="A"))
        for seq, zh, _en, wc, setup, run, plan, wait in steps:
            _save(admin, RoutingStep(routing=routing, seq=seq, name=zh, work_center=wcs[wc],
                                     setup_minutes=Decimal(setup),
                                     run_minutes_per_unit=Decimal(run),
                                     is_qc_checkpoint=bool(plan), inspection_plan_code=plan,
                                     wait_for_qc=wait))
    for code, (zh, en, sampling, n, pct, loops, chars) in PLANS.items():
        plan = _save(admin, InspectionPlan(code=code, name=zh, name_en=en, sampling=sampling,
                                           sample_n=n, sample_percent=Decimal(pct),
                                           max_rework_loops=loops))
        for i, (name, kind, nominal, lower, upper, unit) in enumerate(chars, start=1):
            _save(admin, Characteristic(
                plan=plan, seq=i * 10, name=name, kind=kind, unit=unit,
                nominal=Decimal(nominal) if nominal else None,
                lower=Decimal(lower) if lower else None,
                upper=Decimal(upper) if upper else None))
    for model, rows in ((DefectCode, DEFECTS), (ScrapReason, SCRAP),
                        (DowntimeReason, DOWNTIME)):
        for code, zh, en in rows:
            _save(admin, model(code=code, name=zh, name_en=en))
    from alerts.services.config import alert_rules_install_defaults

    alert_rules_install_defaults(actor=admin)  # rules with escalation chains
    return True
