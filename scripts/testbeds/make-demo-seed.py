#!/usr/bin/env python3
"""Writes the demo registry dataset (fictitious enterprises and persons, valid check characters).

Usage: scripts/testbeds/make-demo-seed.py > scripts/testbeds/demo-seed.json
Deterministic: the same output every run. The card holders of the reader simulator's sample cards
(张三 441900199003181234, 李四 11010519491231002X) are the legal representatives of the first
enterprises, so the demo's licence printing works for them and is refused for others.
"""
import json, random

ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
W_USCC = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
W_ORG = [3, 7, 9, 10, 5, 8, 4, 2]
W_ID = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

def org_check(body):
    s = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, W_ORG))
    c = 11 - s % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)

def uscc(region, n):
    body = "%08d" % n
    prefix = "91" + region + body + org_check(body)
    s = sum(ALPHA.index(c) * w for c, w in zip(prefix, W_USCC))
    return prefix + ALPHA[(31 - s % 31) % 31]

def id_number(area, birth, seq):
    body = area + birth + "%03d" % seq
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, W_ID)) % 11]

rng = random.Random(20261123)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "建华", "志强", "丽娟", "海燕"]
TRADES = [("科技", "软件开发；信息技术咨询服务；信息系统集成服务；数据处理和存储支持服务"),
          ("商贸", "日用百货销售；五金产品零售；家用电器销售；食品销售（仅销售预包装食品）"),
          ("餐饮管理", "餐饮服务；食品经营；餐饮管理；外卖递送服务"),
          ("建筑工程", "建设工程施工；建筑装饰装修工程；园林绿化工程施工；市政设施管理"),
          ("农业发展", "谷物种植；蔬菜种植；水果种植；农产品的生产、销售、加工、运输、贮藏及其他相关服务"),
          ("物流", "普通货物仓储服务；道路货物运输（不含危险货物）；国内货物运输代理；装卸搬运"),
          ("文化传媒", "组织文化艺术交流活动；广告设计、代理；广告制作；会议及展览服务"),
          ("医疗器械", "第一类医疗器械销售；第二类医疗器械销售；医疗设备租赁；健康咨询服务")]
PLACES = ["高新区创业路", "老城区中山路", "经济开发区工业大道", "滨江新区江滨路", "城南街道建设路"]
CAPITALS = ["人民币伍拾万元", "人民币壹佰万元", "人民币贰佰万元", "人民币伍佰万元", "人民币壹仟万元"]
AUTHORITY = "演示市市场监督管理局"

def person_name():
    return rng.choice(SURNAMES) + rng.choice(GIVEN)

def date(y, m, d):
    return "%04d-%02d-%02d" % (y, m, d)

holders = [("张三", "441900199003181234"), ("李四", "11010519491231002X")]
enterprises, persons = [], []
for i in range(36):
    trade, scope = TRADES[i % len(TRADES)]
    if i < len(holders):
        rep, rep_id = holders[i]
    else:
        y, m, d = rng.randint(1955, 2000), rng.randint(1, 12), rng.randint(1, 28)
        rep, rep_id = person_name(), id_number("4419" + "%02d" % rng.randint(0, 30), "%04d%02d%02d" % (y, m, d), rng.randint(1, 999))
    est = (rng.randint(2005, 2022), rng.randint(1, 12), rng.randint(1, 28))
    name = "演示市%s%s有限公司" % (["云端", "鸿福", "聚源", "启航", "华信", "东方", "宏图", "瑞丰", "锦程"][i % 9] + ("" if i < 9 else str(i)), trade)
    archive = [{"kind": "establishment", "date": date(*est), "authority": AUTHORITY,
                "summary": "设立登记。", "changes": []}]
    capital = rng.choice(CAPITALS)
    address = "演示市%s%d号" % (rng.choice(PLACES), rng.randint(1, 300))
    if i % 3 == 0:
        old_cap = capital
        capital = rng.choice([c for c in CAPITALS if c != old_cap])
        archive.append({"kind": "change", "date": date(est[0] + 2, est[1], est[2]), "authority": AUTHORITY,
                        "summary": "变更注册资本。", "changes": [{"item": "注册资本", "before": old_cap, "after": capital}]})
    for year in range(max(est[0] + 1, 2020), 2026):
        archive.append({"kind": "annualReport", "date": date(year, 4, 15 + i % 10), "summary": "%d年度报告已公示。" % (year - 1), "changes": []})
    status = "存续"
    if i % 12 == 11:
        status = "注销"
        archive.append({"kind": "deregistration", "date": date(2025, 6, 30), "authority": AUTHORITY, "summary": "简易注销。", "changes": []})
    enterprises.append({
        "uscc": uscc("350100" if i % 2 else "441900", 10000000 + i * 7919),
        "name": name, "type": "有限责任公司（自然人投资或控股）", "legalRepresentative": rep,
        "registeredCapital": capital, "establishedOn": date(*est), "termFrom": date(*est),
        "termUntil": None if i % 4 else date(est[0] + 30, est[1], est[2]),
        "address": address, "businessScope": scope + "。（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）",
        "authority": AUTHORITY, "issuedOn": archive[-1]["date"] if archive[-1]["kind"] == "change" else date(*est),
        "legalRepresentativeIdNumber": rep_id, "status": status, "archive": archive})

for i in range(24):
    if i < len(holders):
        name, idn = holders[i]
    else:
        y, m, d = rng.randint(1960, 2002), rng.randint(1, 12), rng.randint(1, 28)
        name, idn = person_name(), id_number("441900", "%04d%02d%02d" % (y, m, d), rng.randint(1, 999))
    employer = enterprises[i % len(enterprises)]["name"]
    start = (rng.randint(2008, 2020), rng.randint(1, 12))
    base = rng.choice([4500, 6000, 8000, 12000])
    payments = []
    y, m = 2024, 1
    for k in range(12 + i % 12):
        for t, er, pr in [("pension", 0.16, 0.08), ("medical", 0.06, 0.02)]:
            payments.append({"month": "%04d-%02d" % (y, m), "type": t, "base": "%.2f" % base,
                             "employerAmount": "%.2f" % (base * er), "personalAmount": "%.2f" % (base * pr), "employer": employer})
        m += 1
        if m > 12: y, m = y + 1, 1
    months = (2025 - start[0]) * 12 + (12 - start[1])
    persons.append({"idNumber": idn, "name": name, "region": "演示市",
                    "enrolments": [{"type": t, "startedOn": date(start[0], start[1], 1), "monthsPaid": months, "status": "参保缴费"}
                                   for t in ("pension", "medical", "unemployment", "workInjury")],
                    "payments": payments})

print(json.dumps({"enterprises": enterprises, "persons": persons}, ensure_ascii=False, indent=1))
