"""Demo users of the development sign-in page (PHOIHOP_ENV=dev only): an officer of every agency a process lane
names, a lead of every agency that has a lead-only task (tests/web/test_demo_users.py checks both against
processes/), a process owner and an administrator. Standard library only: ``dev.py run`` prints this list too."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEMO_USERS", "DemoUser", "demo_user"]


@dataclass(frozen=True)
class DemoUser:
    sub: str
    name: str
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    title_vi: str
    title_en: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "ttpvhcc.khanh",
        "Lê Minh Khánh",
        ("ttpvhcc",),
        ("officer",),
        "Chuyên viên Trung tâm Phục vụ hành chính công thành phố Hà Nội (một cửa)",
        "Officer, Public Administrative Service Centre",
    ),
    DemoUser(
        "skhcn.an",
        "Nguyễn Văn An",
        ("skhcn",),
        ("officer",),
        "Chuyên viên Sở Khoa học và Công nghệ",
        "Officer, Department of Science and Technology",
    ),
    DemoUser(
        "skhcn.cuong",
        "Phạm Quốc Cường",
        ("skhcn",),
        ("officer", "lead"),
        "Lãnh đạo Sở Khoa học và Công nghệ",
        "Lead, Department of Science and Technology",
    ),
    DemoUser(
        "stp.dung", "Trần Thị Dung", ("stp",), ("officer",), "Chuyên viên Sở Tư pháp", "Officer, Department of Justice"
    ),
    DemoUser(
        "stp.minh", "Đỗ Văn Minh", ("stp",), ("officer", "lead"), "Lãnh đạo Sở Tư pháp", "Lead, Department of Justice"
    ),
    DemoUser(
        "htkc.giang",
        "Vũ Thu Giang",
        ("htkc",),
        ("officer",),
        "Chuyên viên Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội",
        "Officer, Hi-Tech Parks and Industrial Zones Board",
    ),
    DemoUser(
        "htkc.lan",
        "Hoàng Thị Lan",
        ("htkc",),
        ("officer", "lead"),
        "Lãnh đạo Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội",
        "Lead, Hi-Tech Parks and Industrial Zones Board",
    ),
    DemoUser(
        "vpubnd.nga",
        "Bùi Thị Nga",
        ("vp-ubnd",),
        ("officer",),
        "Chuyên viên Văn phòng UBND Thành phố",
        "Officer, Office of the City People's Committee",
    ),
    DemoUser(
        "vpubnd.tuan",
        "Phan Anh Tuấn",
        ("vp-ubnd",),
        ("officer", "lead"),
        "Lãnh đạo Văn phòng UBND Thành phố",
        "Lead, Office of the City People's Committee",
    ),
    DemoUser(
        "ubnd.hoa",
        "Ngô Văn Hòa",
        ("ubnd",),
        ("officer", "lead"),
        "Lãnh đạo UBND Thành phố",
        "Lead, City People's Committee",
    ),
    DemoUser(
        "stc.phuong",
        "Đặng Thu Phương",
        ("stc",),
        ("officer",),
        "Chuyên viên Sở Tài chính",
        "Officer, Department of Finance",
    ),
    DemoUser(
        "stc.thanh",
        "Nguyễn Đức Thành",
        ("stc",),
        ("officer", "lead"),
        "Lãnh đạo Sở Tài chính",
        "Lead, Department of Finance",
    ),
    DemoUser(
        "syt.quang", "Lý Văn Quang", ("syt",), ("officer",), "Chuyên viên Sở Y tế", "Officer, Department of Health"
    ),
    DemoUser(
        "syt.hanh", "Trương Thị Hạnh", ("syt",), ("officer", "lead"), "Lãnh đạo Sở Y tế", "Lead, Department of Health"
    ),
    DemoUser(
        "sgddt.linh",
        "Đinh Thùy Linh",
        ("sgddt",),
        ("officer",),
        "Chuyên viên Sở Giáo dục và Đào tạo",
        "Officer, Department of Education and Training",
    ),
    DemoUser(
        "sgddt.hieu",
        "Lương Trung Hiếu",
        ("sgddt",),
        ("officer", "lead"),
        "Lãnh đạo Sở Giáo dục và Đào tạo",
        "Lead, Department of Education and Training",
    ),
    DemoUser(
        "snnmt.thao",
        "Kiều Phương Thảo",
        ("snnmt",),
        ("officer",),
        "Chuyên viên Sở Nông nghiệp và Môi trường",
        "Officer, Department of Agriculture and Environment",
    ),
    DemoUser(
        "snnmt.vinh",
        "Tạ Quang Vinh",
        ("snnmt",),
        ("officer", "lead"),
        "Lãnh đạo Sở Nông nghiệp và Môi trường",
        "Lead, Department of Agriculture and Environment",
    ),
    # leads of the agencies the monthly report (submit_report) and its meeting conclusions can name (issue 10)
    DemoUser(
        "snv.hung",
        "Cao Văn Hùng",
        ("snv",),
        ("officer", "lead"),
        "Lãnh đạo Sở Nội vụ",
        "Lead, Department of Home Affairs",
    ),
    DemoUser(
        "thue.yen",
        "Lương Thị Yến",
        ("thue",),
        ("officer", "lead"),
        "Lãnh đạo Thuế thành phố Hà Nội",
        "Lead, Hanoi Tax",
    ),
    DemoUser(
        "sxd.long",
        "Hà Đức Long",
        ("sxd",),
        ("officer", "lead"),
        "Lãnh đạo Sở Xây dựng",
        "Lead, Department of Construction",
    ),
    DemoUser(
        "sct.mai",
        "Đoàn Thị Mai",
        ("sct",),
        ("officer", "lead"),
        "Lãnh đạo Sở Công Thương",
        "Lead, Department of Industry and Trade",
    ),
    DemoUser(
        "svhtt.ha",
        "Nguyễn Thu Hà",
        ("svhtt",),
        ("officer", "lead"),
        "Lãnh đạo Sở Văn hóa và Thể thao",
        "Lead, Department of Culture and Sports",
    ),
    DemoUser(
        "ttpvhcc.dat",
        "Vương Tiến Đạt",
        ("ttpvhcc",),
        ("officer", "lead"),
        "Lãnh đạo Trung tâm Phục vụ hành chính công của thành phố Hà Nội",
        "Lead, Public Administrative Service Centre",
    ),
    DemoUser(
        "xaphuong.binh",
        "Lã Thanh Bình",
        ("xa-phuong",),
        ("officer", "lead"),
        "Chủ tịch UBND phường (lãnh đạo UBND xã, phường)",
        "Chair, commune or ward People's Committee",
    ),
    DemoUser(
        "owner.bao",
        "Trịnh Gia Bảo",
        (),
        ("process-owner",),
        "Chủ quy trình (Sở Khoa học và Công nghệ)",
        "Process owner",
    ),
    DemoUser("admin.son", "Mai Thanh Sơn", (), ("admin",), "Quản trị hệ thống", "System administrator"),
)


def demo_user(sub: str) -> DemoUser | None:
    return next((user for user in DEMO_USERS if user.sub == sub), None)
