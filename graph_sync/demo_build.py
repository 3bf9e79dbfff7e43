"""Builds `demo_users.json`, the fictional directory of the demo tenant, from name lists.

Run `python -m graph_sync.demo_build` after changing the lists; the output is deterministic
(fixed seed), so the committed file only changes when this script does. The people are shaped
exactly like Graph's `/users/delta` entries (same property names, `manager@delta`), so the demo
goes through the production decode, mapping and bulk-write pipeline.

The org: a general manager, department heads, team leads and their teams, mostly in Turkey
with an office in London; two interns, one guest, one disabled account.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from pathlib import Path
from typing import Any

from storage.search_keys import fold

OUTPUT = Path(__file__).with_name("demo_users.json")
DOMAIN = "juno-demo.example"
SEED = 20240611

TR_GIVEN = (
    "Ayşe", "Mehmet", "Fatma", "Ahmet", "Emine", "Mustafa", "Zeynep", "İsmail", "İbrahim",
    "Şeyma", "Gülşen", "Çağla", "Özge", "Ümit", "Gökhan", "Irmak", "Ömer", "Büşra", "Oğuz",
    "Doğan", "Hülya", "Şule", "Tuğba", "Ece", "Elif", "Can", "Cem", "Deniz", "Barış", "Burak",
    "Selin", "Kağan", "Yiğit", "Işıl", "İlker", "Ilgın", "Çiğdem", "Gönül", "Şükrü", "Ilgaz",
    "Sıla", "Nazlı", "Görkem", "Ufuk", "Özlem", "Kıvanç", "Aslı", "Berk", "Pınar", "Tolga",
)  # fmt: skip
TR_SURNAMES = (
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın",
    "Özdemir", "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt", "Özkan",
    "Şimşek", "Işık", "Güneş", "Ağca", "Bozkurt", "Erdem", "Güler", "Türkmen", "Uçar",
    "Ünal", "Çakır", "Sarıgül", "Gündoğdu", "Ilıcalı", "İnce", "Oğuzhan", "Şen", "Köse",
)  # fmt: skip
EN_GIVEN = (
    "Oliver", "Emma", "James", "Olivia", "William", "Amelia", "Harry", "Isla", "George",
    "Ava", "Noah", "Mia", "Jack", "Grace", "Thomas", "Chloe", "Daniel", "Sophie", "Samuel",
    "Lily", "Ethan", "Hannah", "Lucas", "Ella",
)  # fmt: skip
EN_SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Clarke",
)  # fmt: skip

OFFICES_TR = ("İstanbul - Maslak", "İstanbul - Kadıköy", "Ankara - Çankaya", "İzmir - Alsancak")
OFFICE_UK = "London - Shoreditch"

# department -> (head title, lead title, member titles, team count, team size)
DEPARTMENTS: dict[str, tuple[str, str, tuple[str, ...], int, int]] = {
    "Finans": (
        "Mali İşler Direktörü", "Muhasebe Müdürü",
        ("Finans Uzmanı", "Muhasebe Uzmanı", "Bütçe Analisti"), 3, 8,
    ),
    "İnsan Kaynakları": (
        "İnsan Kaynakları Direktörü", "İK Takım Lideri",
        ("İnsan Kaynakları Uzmanı", "İşe Alım Uzmanı", "Bordro Uzmanı"), 2, 8,
    ),
    "Engineering": (
        "VP of Engineering", "Engineering Manager",
        ("Software Engineer", "Senior Software Engineer", "QA Engineer", "Yazılım Geliştirici"),
        8, 11,
    ),
    "Sales": (
        "Sales Director", "Satış Müdürü",
        ("Account Executive", "Satış Temsilcisi", "Customer Success Manager"), 5, 10,
    ),
    "Pazarlama": (
        "Pazarlama Direktörü", "Marka Müdürü",
        ("Pazarlama Uzmanı", "İçerik Editörü", "Growth Marketer"), 3, 7,
    ),
    "Bilgi Teknolojileri": (
        "BT Direktörü", "BT Operasyon Lideri",
        ("Sistem Yöneticisi", "Ağ Uzmanı", "Service Desk Analyst"), 3, 8,
    ),
    "Hukuk": ("Hukuk Müşaviri", "Kıdemli Avukat", ("Avukat", "Hukuk Uzmanı"), 1, 6),
    "Operasyon": (
        "Operasyon Direktörü", "Lojistik Müdürü",
        ("Operasyon Uzmanı", "Satın Alma Uzmanı", "Depo Sorumlusu"), 4, 9,
    ),
}  # fmt: skip


class Directory:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (fictional people, reproducible)
        self.users: list[dict[str, Any]] = []
        self.used_mail: set[str] = set()
        self.employee_no = 10000

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def person(self, london: bool) -> tuple[str, str]:
        english = london or self.rng.random() < 0.15
        given = self.rng.choice(EN_GIVEN if english else TR_GIVEN)
        surname = self.rng.choice(EN_SURNAMES if english else TR_SURNAMES)
        return given, surname

    def mail_for(self, given: str, surname: str) -> str:
        base = f"{fold(given).replace(' ', '')}.{fold(surname).replace(' ', '')}"
        mail, n = f"{base}@{DOMAIN}", 1
        while mail in self.used_mail:
            n += 1
            mail = f"{base}{n}@{DOMAIN}"
        self.used_mail.add(mail)
        return mail

    def add(
        self,
        title: str,
        department: str,
        manager: str | None,
        *,
        london: bool = False,
        **extra: Any,
    ) -> str:
        given, surname = self.person(london)
        mail = self.mail_for(given, surname)
        self.employee_no += self.rng.randint(1, 7)
        user: dict[str, Any] = {
            "id": self.new_id(),
            "givenName": given,
            "surname": surname,
            "displayName": f"{given} {surname}",
            "mail": mail,
            "userPrincipalName": mail,
            "jobTitle": title,
            "department": department,
            "officeLocation": OFFICE_UK if london else self.rng.choice(OFFICES_TR),
            "employeeId": f"E{self.employee_no}",
            "employeeType": "Employee",
            "accountEnabled": True,
            "userType": "Member",
        }
        user.update(extra)
        if manager is not None:
            user["manager@delta"] = [{"@odata.type": "#microsoft.graph.user", "id": manager}]
        self.users.append(user)
        return str(user["id"])


def build(seed: int = SEED) -> list[dict[str, Any]]:
    d = Directory(seed)
    ceo = d.add("Genel Müdür", "Yönetim", None, officeLocation="İstanbul - Maslak")
    d.add("Yönetici Asistanı", "Yönetim", ceo)
    for department, (head_title, lead_title, titles, teams, size) in DEPARTMENTS.items():
        head = d.add(head_title, department, ceo)
        for team in range(teams):
            london = department in ("Sales", "Engineering") and team == teams - 1
            lead = d.add(lead_title, department, head, london=london)
            for _ in range(size):
                d.add(d.rng.choice(titles), department, lead, london=london)
    engineering_lead = next(u["id"] for u in d.users if u["jobTitle"] == "Engineering Manager")
    finance_lead = next(u["id"] for u in d.users if u["jobTitle"] == "Muhasebe Müdürü")
    d.add("Yazılım Stajyeri", "Engineering", engineering_lead, employeeType="Intern")
    d.add("Finance Intern", "Finans", finance_lead)
    guest_mail = "partner.consultant@partner.example"
    d.users.append(
        {
            "id": d.new_id(),
            "givenName": "Jordan",
            "surname": "Reyes",
            "displayName": "Jordan Reyes (Partner)",
            "mail": guest_mail,
            "userPrincipalName": "partner.consultant_partner.example#EXT#@" + DOMAIN,
            "jobTitle": "External Consultant",
            "accountEnabled": True,
            "userType": "Guest",
        }
    )
    d.add("Satış Temsilcisi", "Sales", None, accountEnabled=False)
    return d.users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    users = build()
    args.output.write_text(json.dumps(users, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"wrote {len(users)} users to {args.output}")


if __name__ == "__main__":
    main()
