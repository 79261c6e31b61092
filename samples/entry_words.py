"""Vietnamese words for generated typed entries: names, places, schools, labels as people type them, and essay
sentences about online public services. Data only."""
from __future__ import annotations

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý", "Đinh", "Trịnh", "Đoàn", "Lương", "Mai", "Tạ", "Khúc", "Kiều")
MIDDLE = ("Văn", "Thị", "Minh", "Thu", "Ngọc", "Quốc", "Đức", "Thanh", "Hải", "Bảo", "Gia", "Hoàng", "Khánh", "Phương",
          "Tuấn", "Mạnh", "Diệu", "Thùy", "Xuân", "Hữu")
GIVEN = ("An", "Anh", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hòa", "Hùng", "Hương", "Khoa",
         "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Ngân", "Nhung", "Phong", "Phúc", "Quân", "Quyên", "Sơn",
         "Tâm", "Thảo", "Trang", "Trung", "Tú", "Tùng", "Uyên", "Việt", "Vy", "Yến", "Đạt", "Ánh", "Ðông")
STREETS = ("Trường Chinh", "Kim Mã", "Láng Hạ", "Nguyễn Trãi", "Tây Sơn", "Cầu Giấy", "Hoàng Quốc Việt", "Xuân Thủy",
           "Giải Phóng", "Minh Khai", "Lạc Long Quân", "Âu Cơ", "Trần Duy Hưng", "Lê Văn Lương", "Phạm Văn Đồng",
           "Nguyễn Văn Cừ", "Ngọc Lâm", "Quang Trung", "Tô Hiệu", "Lý Thường Kiệt")
WARDS = (("Dịch Vọng", "Cầu Giấy"), ("Kim Liên", "Đống Đa"), ("Ngọc Khánh", "Ba Đình"), ("Văn Quán", "Hà Đông"),
         ("Bồ Đề", "Long Biên"), ("Thanh Lương", "Hai Bà Trưng"), ("Xuân La", "Tây Hồ"), ("Mai Dịch", "Cầu Giấy"),
         ("Định Công", "Hoàng Mai"), ("Phúc Diễn", "Bắc Từ Liêm"), ("Trung Hòa", "Cầu Giấy"), ("Hàng Bài", "Hoàn Kiếm"))
SCHOOLS = ("Trường THCS Cầu Giấy", "Trường THCS Nguyễn Trường Tộ", "Trường THPT Chu Văn An", "Trường THPT Kim Liên",
           "Trường THCS Giảng Võ", "Trường THPT Yên Hòa", "Trường Tiểu học Dịch Vọng B", "Trường THCS Lê Quý Đôn",
           "Trường THPT Phan Đình Phùng", "Trường THCS Ngô Sĩ Liên", "Trường THPT Việt Đức", "Trường THCS Thái Thịnh")
WORKPLACES = ("UBND phường Dịch Vọng", "Công ty TNHH Minh Phát", "Bệnh viện Đa khoa Đống Đa",
              "Hội Cựu chiến binh phường Kim Liên", "Chi đoàn thanh niên tổ dân phố số 5", "Bưu điện quận Ba Đình",
              "Công ty cổ phần Sông Hồng",
              "Hội Liên hiệp Phụ nữ phường Văn Quán", "Hưu trí", "Tự do")
CLASSES = ("6A", "7B", "8A1", "9A", "9C", "10A2", "11D", "12A3", "5B", "8E")

# label variants as entrants type them (typos and missing diacritics included)
LABELS = {
    "name": ("Họ và tên", "Họ tên", "HỌ VÀ TÊN", "Ho va ten", "Họ và tên người dự thi", "Họ và tên thí sinh",
             "Họ & tên", "Họ, tên"),
    "date_of_birth": ("Ngày sinh", "Ngày, tháng, năm sinh", "NGÀY SINH", "Ngay sinh", "Sinh ngày",
                      "Ngày tháng năm sinh"),
    "address": ("Địa chỉ", "Địa chỉ liên hệ", "Dia chi", "ĐỊA CHỈ", "Nơi ở hiện nay", "Địa chỉ thường trú",
                "Chỗ ở hiện nay"),
    "unit": ("Đơn vị / Trường", "Đơn vị", "Trường", "Đơn vị công tác", "Cơ quan / Đơn vị", "Don vi", "Trường học",
             "ĐƠN VỊ"),
    "class": ("Lớp", "LỚP", "Lop"),
    "phone": ("Số điện thoại", "Điện thoại", "SĐT", "Sđt", "So dien thoai", "Điện thoại liên hệ", "SỐ ĐIỆN THOẠI"),
    "email": ("Email", "E-mail", "Thư điện tử", "EMAIL", "Gmail"),
}
TITLES = ("BÀI DỰ THI", "BÀI DỰ THI TÌM HIỂU DỊCH VỤ CÔNG TRỰC TUYẾN",
          "CUỘC THI “TÌM HIỂU DỊCH VỤ CÔNG TRỰC TUYẾN” NĂM 2026", "Bài dự thi tìm hiểu Dịch vụ công trực tuyến")
MC_HEADINGS = ("PHẦN I. TRẮC NGHIỆM", "Phần 1: Câu hỏi trắc nghiệm", "I. TRẮC NGHIỆM", "A. PHẦN TRẮC NGHIỆM",
               "Trả lời câu hỏi trắc nghiệm:")
ESSAY_HEADINGS = ("PHẦN II. TỰ LUẬN", "Phần 2: Câu hỏi tự luận", "II. TỰ LUẬN", "B. PHẦN TỰ LUẬN", "Bài viết",
                  "Phần thi viết")
ESSAY_SENTENCES = (
    "Dịch vụ công trực tuyến giúp người dân tiết kiệm thời gian và chi phí đi lại.",
    "Gia đình em đã đăng ký thường trú cho em trai qua Cổng Dịch vụ công quốc gia mà không phải đến trụ sở.",
    "Khi có tài khoản định danh điện tử mức độ 2, mỗi người có thể đăng nhập và nộp hồ sơ ngay trên điện thoại.",
    "Bà em đã được tổ công nghệ số cộng đồng hướng dẫn cài đặt ứng dụng VNeID.",
    "Việc thanh toán lệ phí trực tuyến minh bạch, có biên lai điện tử rõ ràng.",
    "Tuy vậy, vẫn còn một số người cao tuổi chưa quen sử dụng điện thoại thông minh.",
    "Em đề xuất mỗi tổ dân phố tổ chức các buổi hướng dẫn vào cuối tuần.",
    "Mọi người cần cảnh giác với các đường link lạ giả mạo cổng dịch vụ công.",
    "Chỉ nên truy cập những trang có tên miền gov.vn và không cung cấp mã OTP cho bất kỳ ai.",
    "Chuyển đổi số giúp chính quyền phục vụ người dân nhanh hơn và tốt hơn.",
    "Trường em đã tổ chức buổi ngoại khóa giới thiệu các tiện ích của dịch vụ công trực tuyến.",
    "1. Đăng nhập bằng tài khoản VNeID; 2. chọn thủ tục; 3. điền tờ khai và nộp hồ sơ.",
)
