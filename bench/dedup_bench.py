"""Near-duplicate essay detection: recall on planted copies, false pairs, time and memory.

    .venv/bin/python -m bench.dedup_bench -n 5000 [--seed 7] [-n 5000,10000,20000] [--engine ours,datasketch]

Generates n Vietnamese-like essays about online public services (300–800 words each, all starting with the
same question statement) and plants, with the sentence provenance recorded as ground truth:

* **copies** (~2 % of n): 60–95 % of a source essay's text taken in blocks of consecutive sentences, some blocks
  moved, the copier's own sentences added (up to half as many words again), OCR noise on top: a tone mark
  swapped on 2–5 % of the syllables (ổ↔ố, ả↔á …) and about 1 % of the words dropped;
* **near misses** (~2 % of n): an essay of its own that borrows 10–30 % (of the shorter essay's words) from a
  source, with the same OCR noise: these must NOT be reported.

Each size is generated once under bench/data/ (reused later) and detected in a fresh child process, so the
time is ``find_near_duplicates`` alone (streaming the essays from the gzip file) and the peak RSS is the
detection's own. Reported pairs are classified by their true overlap (provenance words shared / words of the
shorter essay): planted copies, other pairs with true overlap ≥ 30 % (e.g. two copies of one source) and
false pairs (true overlap < 30 %: must be zero).

``--engine datasketch`` finds the candidate pairs with ``datasketch`` (``pip install datasketch``) instead of our
MinHash signatures and LSH bands: the same shingle sets (boilerplate removed), ``MinHash`` (same ``num_perm``, the
shingles' own 32-bit hashes as its input) into ``MinHashLSH`` at the Jaccard ``J* = threshold / (3 - threshold)``
our bands are designed for, then the same exact measurement and passages. Only the candidate step differs.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import resource
import shlex
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

from bench.read_bench import ROOT, commit, machine

QUESTION = (
    "Câu hỏi: Em hãy trình bày hiểu biết của mình về dịch vụ công trực tuyến. Theo em, việc sử dụng dịch vụ "
    "công trực tuyến mang lại những lợi ích gì cho người dân và doanh nghiệp? Hãy nêu những khó khăn, hạn chế "
    "còn tồn tại và đề xuất giải pháp để nâng cao hiệu quả của dịch vụ công trực tuyến ở địa phương em."
)

SUBJECTS = """người dân|công dân|cán bộ|chính quyền|nhà nước|ủy ban nhân dân|doanh nghiệp|học sinh|sinh viên|
người cao tuổi|thanh niên|gia đình em|bố mẹ em|ông bà em|hàng xóm|các cơ quan|chính phủ|bộ phận một cửa|
người lao động|nông dân|tiểu thương|giáo viên|bác sĩ|công an xã|cán bộ tư pháp|chủ tịch phường|tổ dân phố|
hợp tác xã|nhà trường|bệnh viện|ngân hàng|bưu điện|mọi người|chúng ta|chúng em|xã hội|cộng đồng|thế hệ trẻ|
người khuyết tật|đồng bào dân tộc|chị gái em|anh trai em|cô giáo chủ nhiệm|bác tổ trưởng|người nước ngoài|
chủ cửa hàng|nhân viên văn phòng|công nhân|bà con|mẹ em|bố em|ông nội|bà ngoại"""

VERBS = """đăng ký|nộp|tra cứu|thanh toán|khai báo|cập nhật|xác thực|tiếp nhận|giải quyết|xử lý|theo dõi|
kiểm tra|hướng dẫn|hỗ trợ|tiết kiệm|giảm bớt|nâng cao|cải thiện|phát triển|đẩy mạnh|ứng dụng|sử dụng|
tìm hiểu|làm quen|chia sẻ|phản ánh|kiến nghị|góp ý|đánh giá|bảo vệ|bảo mật|lưu trữ|cấp|cấp lại|gia hạn|
chứng thực|xác nhận|tải về|điền|ký số|gửi|nhận|chờ đợi|đi lại|xếp hàng|liên hệ|trao đổi|tuyên truyền|
phổ biến|khuyến khích|thúc đẩy|mở rộng|kết nối|tích hợp|đồng bộ|số hóa|công khai|đơn giản hóa|rút ngắn|
tăng cường|khắc phục|vượt qua|thích nghi|học hỏi|trải nghiệm|lựa chọn|quản lý|giám sát|cung cấp|đáp ứng|
phục vụ|tin tưởng|mong muốn|đề xuất|chuẩn bị|hoàn thiện|sửa đổi|bổ sung|in ấn|photo|nhắc nhở|giúp đỡ|
dạy|giải thích|bấm|chụp|quét|mở|đóng|tìm|chọn|đọc|viết|hỏi"""

NOUNS = """hồ sơ|thủ tục hành chính|giấy tờ|căn cước công dân|tài khoản định danh|mã số thuế|giấy khai sinh|
sổ hộ khẩu|giấy phép lái xe|giấy phép kinh doanh|bảo hiểm y tế|bảo hiểm xã hội|học phí|tiền điện|tiền nước|
lệ phí|phí trước bạ|thuế thu nhập|đất đai|quyền sử dụng đất|hộ chiếu|lý lịch tư pháp|đăng ký kết hôn|
tạm trú|thường trú|cổng dịch vụ công|ứng dụng định danh|trang thông tin điện tử|phần mềm|
điện thoại thông minh|máy tính|mạng internet|đường truyền|chữ ký số|mã xác thực|mật khẩu|dữ liệu|
thông tin cá nhân|cơ sở dữ liệu quốc gia|chuyển đổi số|chính phủ điện tử|thời gian|chi phí|công sức|
quãng đường|kết quả|thông báo|tin nhắn|thư điện tử|biểu mẫu|hướng dẫn sử dụng|quy trình|quy định|
chính sách|pháp luật|trách nhiệm|niềm tin|sự thuận tiện|sự minh bạch|tham nhũng|tiêu cực|phiền hà|rủi ro|
lừa đảo|kẻ gian|lỗi hệ thống|sự cố|nhu cầu|lợi ích|khó khăn|hạn chế|giải pháp|kỹ năng|kiến thức|thói quen|
nhận thức|vùng sâu vùng xa|miền núi|hải đảo|nông thôn|thành phố|quê em|xã em|phường|huyện|tỉnh|trụ sở|
bộ phận tiếp nhận|quầy giao dịch|ngày nghỉ|giờ hành chính|buổi tối|cuối tuần|mùa dịch|đại dịch|tương lai|
thời đại|cuộc sống|xã hội số|kinh tế số|công dân số|nền hành chính|bộ máy|nhân lực|cơ sở vật chất|hạ tầng|
trí tuệ nhân tạo|điện toán đám mây|quyền riêng tư|tiện ích|dịch vụ|ngân sách|giấy|mực in|môi trường|
sức khỏe|tuổi già|con cháu|bạn bè|thầy cô|lớp học|bài tập|điểm số|tấm gương|câu chuyện|kinh nghiệm|ý kiến|
phản hồi|bình chọn|cuộc thi|đề tài|vấn đề|mục tiêu|nhiệm vụ|kế hoạch|chương trình|phong trào|sáng kiến|
mô hình|tổ công nghệ số|tình nguyện viên|đoàn viên|điểm truy cập|sóng điện thoại|trung tâm hành chính|
sổ tay|đoạn phim|mạng xã hội|tổng đài|đường dây nóng|cái máy in|chiếc xe máy|con đường|cơn mưa|buổi sáng|
tấm ảnh|số điện thoại|địa chỉ|tài khoản ngân hàng|ví điện tử|hóa đơn|biên lai|con dấu|chữ ký|bản sao|
bản chính|phiếu hẹn|lịch hẹn|cán bộ một cửa|trạm y tế|nhà văn hóa|chợ|sân đình|cánh đồng"""

ADJECTIVES = """nhanh chóng|thuận tiện|dễ dàng|đơn giản|phức tạp|rườm rà|minh bạch|an toàn|hiện đại|tiện lợi|
hiệu quả|chính xác|kịp thời|tốn kém|mất thời gian|chậm trễ|khó hiểu|rõ ràng|thân thiện|chuyên nghiệp|
tận tình|chu đáo|xa xôi|bận rộn|cần thiết|quan trọng|thiết thực|hữu ích|mới mẻ|lạ lẫm|quen thuộc|đầy đủ|
thiếu sót|ổn định|chập chờn|bất tiện|vất vả|yên tâm|tích cực|đáng kể|to lớn|nhỏ bé|lâu dài|bền vững|
liên thông|tự động|trực tuyến|trực tiếp|miễn phí|đắt đỏ|rẻ|mạnh mẽ|sâu sắc|rộng rãi|tuyệt vời|
đáng tin cậy|gọn gàng|sạch sẽ|vui vẻ|buồn|mệt mỏi|lo lắng|hài lòng|bối rối|tự hào|ngạc nhiên|chậm chạp|
cũ kỹ|mới|lớn|nhỏ|cao|thấp|xa|gần|khó|dễ|nhanh|chậm|tốt|xấu"""

TIMES = """hôm qua|năm ngoái|tháng trước|sáng nay|ngày xưa|hiện nay|ngày nay|sau này|trong tương lai|ở quê|
tại nhà|ngay trên điện thoại|chỉ trong vài phút|mọi lúc mọi nơi|vào buổi tối|cả ngày|nhiều lần|
lần đầu tiên|từ sáng sớm|đến tận chiều|vào cuối tuần|trong mùa dịch|trước Tết|sau kỳ nghỉ hè|mỗi tháng|
hằng năm|ở ủy ban|ở phường|ngoài bưu điện|trong lớp|giữa trưa|lúc nửa đêm|vào năm học mới|tuần vừa rồi"""

CONNECTORS = """Theo em|Bên cạnh đó|Ngoài ra|Tuy nhiên|Vì vậy|Do đó|Thứ nhất|Thứ hai|Cuối cùng|Hơn nữa|
Mặt khác|Ví dụ|Chẳng hạn|Trước đây|Hiện nay|Nhờ vậy|Từ đó|Nói tóm lại|Có thể nói|Đặc biệt|
Thực tế cho thấy|Em nhận thấy|Em nghĩ rằng|Như vậy|Không những thế|Đồng thời|Trong khi đó|Kết quả là|
Điều này cho thấy|Em còn nhớ|Thật ra|Dù vậy|Quả thật|Nhìn chung"""

MODALS = """đã|đang|sẽ|cần|phải|nên|có thể|không thể|chưa|vẫn|thường|luôn|hay|ít khi|đã từng|muốn|cố gắng|
được|bị|không|rất muốn|chỉ cần"""

FUNCTION = """là|và|của|cho|với|để|được|bị|đã|đang|sẽ|không|rất|cũng|thì|mà|nên|khi|nếu|vì|những|các|một|
nhiều|ít|này|đó|ấy|còn|vẫn|chỉ|đều|phải|cần|hơn|nhất|lại|ra|vào|lên|xuống|nữa|rồi|đây|kia|ai|gì|sao|
nào|bao giờ|ở đâu|như thế nào"""


def _words(block: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in block.replace("\n", "").split("|") if w.strip())


VOCAB = {name: _words(block) for name, block in (
    ("S", SUBJECTS), ("V", VERBS), ("N", NOUNS), ("A", ADJECTIVES), ("T", TIMES), ("C", CONNECTORS),
    ("M", MODALS), ("F", FUNCTION))}

# sentence templates about online public services: slots in braces, at most two fixed syllables in a row
TEMPLATES = (
    "{C}, {S} {M} {V} {N} {A} {T}.",
    "{S} {M} {V} {N} và {V} {N}.",
    "Việc {V} {N} {T} giúp {S} {V} {N} {A} hơn.",
    "Nhờ có {N}, {S} không cần {V} {N} nữa.",
    "{N} {A} khiến {S} cảm thấy {A}.",
    "{C}, {N} vẫn còn {A} đối với {S} ở {N}.",
    "Nếu {S} {V} {N} thì {N} sẽ {A} hơn.",
    "{S} mong rằng {N} ngày càng {A} và {A}.",
    "Em đã {V} {N} cùng {S} {T}.",
    "{C}, {S} {M} {V} {N} của {S} {A}.",
    "Khi {V} {N}, {S} {M} {V} {N} {T}.",
    "{N} và {N} là {A} nhất đối với {S}.",
    "{S} {M} {V} {N} {F} {N} {A}.",
    "{C}, em thấy {N} {A} {F} {N} {A}.",
)


def _slot(rng: random.Random, name: str) -> str:
    return rng.choice(VOCAB[name])


def sentence(rng: random.Random) -> str:
    if rng.random() < 0.3:                          # a free sentence: 6–14 items from the whole vocabulary
        items = [_slot(rng, rng.choice("SVNAFNVAM")) for _ in range(rng.randint(6, 14))]
        s = " ".join(items)
    else:
        t = rng.choice(TEMPLATES)
        s = "".join(_slot(rng, part[0]) + part[2:] if i and part[1:2] == "}" else part
                    for i, part in enumerate(t.split("{")))
        s = s[:-1] if s.endswith(".") else s
    return s[0].upper() + s[1:] + "."


def count_words(s: str) -> int:
    return sum(1 for w in s.split() if any(c.isalnum() for c in w))


TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")    # huyền, sắc, ngã, hỏi, nặng


def swap_tone(word: str, rng: random.Random) -> str:
    d = unicodedata.normalize("NFD", word)
    have = [i for i, c in enumerate(d) if c in TONES]
    if have:
        i = have[0]
        d = d[:i] + rng.choice([t for t in TONES if t != d[i]]) + d[i + 1:]
    else:                                           # no tone: add one after the first vowel
        v = next((i for i, c in enumerate(d) if c.lower() in "aeiouy"), None)
        if v is None:
            return word
        d = d[:v + 1] + rng.choice(TONES) + d[v + 1:]
    return unicodedata.normalize("NFC", d)


def ocr_noise(s: str, rng: random.Random, tone_rate: float, drop_rate: float = 0.01) -> str:
    out = []
    for w in s.split(" "):
        r = rng.random()
        if r < drop_rate:
            continue
        out.append(swap_tone(w, rng) if rng.random() < tone_rate else w)
    return " ".join(out) if out else s


Sentence = tuple[int, str, int]                     # (origin, text, clean word count)


def own_sentences(rng: random.Random, origin: int, words: int) -> list[Sentence]:
    out: list[Sentence] = []
    total = 0
    while total < words:
        s = sentence(rng)
        n = count_words(s)
        out.append((origin + len(out), s, n))
        total += n
    return out


def blocks_of(sents: list[Sentence], rng: random.Random, longest: int) -> list[list[Sentence]]:
    blocks, i = [], 0
    while i < len(sents):
        k = rng.randint(min(2, longest), longest)
        blocks.append(sents[i:i + k])
        i += k
    return blocks


def take_share(src: list[Sentence], share: float, rng: random.Random, longest: int = 6) -> list[list[Sentence]]:
    """Blocks of consecutive source sentences holding about ``share`` of the source's words, in order."""
    blocks = blocks_of(src, rng, longest)
    total = sum(s[2] for s in src)
    chosen = set()
    got = 0
    for b in rng.sample(range(len(blocks)), len(blocks)):
        w = sum(s[2] for s in blocks[b])
        if got + w > share * total + 8 and chosen:
            continue
        chosen.add(b)
        got += w
        if got >= share * total:
            break
    return [blocks[b] for b in sorted(chosen)]


def render(sents: list[Sentence], rng: random.Random) -> str:
    paras, cur = [], []
    for _, s, _ in sents:
        cur.append(s)
        if len(cur) >= rng.randint(4, 9):
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    return QUESTION + "\n\n" + "\n".join(paras)


def generate(n: int, seed: int) -> tuple[list[tuple[str, str]], dict]:
    """Essays (id, text) and the truth: planted copies, near misses, and each essay's provenance."""
    rng = random.Random(seed)
    n_copy = max(1, round(0.02 * n))
    n_near = max(1, round(0.02 * n))
    n_orig = n - n_copy - n_near
    origin_base = 10_000                               # origins of essay i: i * origin_base + sentence index
    body: list[list[Sentence]] = []
    for i in range(n_orig):
        body.append(own_sentences(rng, i * origin_base, rng.randint(300, 800)))
    sources = rng.sample(range(n_orig), n_copy + n_near)
    copies, near = [], []
    for j, src in enumerate(sources):
        i = len(body)
        base = i * origin_base
        src_sents = body[src]
        src_words = sum(s[2] for s in src_sents)
        tone = rng.uniform(0.02, 0.05)
        if j < n_copy:
            while True:                                # until the true overlap is at least 60 %
                blocks = take_share(src_sents, rng.uniform(0.6, 0.95), rng)
                for _ in range(rng.randint(0, 3)):     # move some blocks
                    if len(blocks) > 1:
                        b = blocks.pop(rng.randrange(len(blocks)))
                        blocks.insert(rng.randrange(len(blocks) + 1), b)
                copied = [s for b in blocks for s in b]
                copied_words = sum(s[2] for s in copied)
                own = own_sentences(rng, base + 5000, int(copied_words * rng.uniform(0.0, 0.5)))
                own_words = sum(s[2] for s in own)
                if copied_words / min(src_words, copied_words + own_words) >= 0.6:
                    break
            sents = list(copied)
            for s in own:                              # own sentences between the copied ones
                sents.insert(rng.randrange(len(sents) + 1), s)
            copies.append((src, i))
        else:
            while True:                                # until the true overlap is within 10–30 %
                length = rng.randint(300, 800)
                share = rng.uniform(0.10, 0.30) * min(length, src_words) / src_words
                blocks = take_share(src_sents, share, rng, longest=3)
                borrowed = [s for b in blocks for s in b]
                borrowed_words = sum(s[2] for s in borrowed)
                own = own_sentences(rng, base + 5000, max(0, length - borrowed_words))
                mine = borrowed_words + sum(s[2] for s in own)
                if 0.10 <= borrowed_words / min(src_words, mine) <= 0.30:
                    break
            sents = list(own)
            for b in blocks:
                at = rng.randrange(len(sents) + 1)
                sents[at:at] = b
            near.append((src, i))
        noisy = [(o, ocr_noise(s, rng, tone), w) for o, s, w in sents]
        body.append(noisy)
    order = list(range(n))
    rng.shuffle(order)                                 # ids do not reveal who copied whom
    ids = [f"E{order[i]:06d}" for i in range(n)]
    essays = [(ids[i], render(body[i], rng)) for i in range(n)]
    truth = {
        "copies": [[ids[a], ids[b]] for a, b in copies],
        "near_misses": [[ids[a], ids[b]] for a, b in near],
        "provenance": {ids[i]: [[o, w] for o, _, w in body[i]] for i in range(n)},
    }
    return essays, truth


def true_overlap(prov: dict, a: str, b: str) -> float:
    pa = {o: w for o, w in prov[a]}
    pb = {o: w for o, w in prov[b]}
    shared = sum(w for o, w in pa.items() if o in pb)
    return shared / max(1, min(sum(pa.values()), sum(pb.values())))


def dataset(n: int, seed: int, data: Path) -> tuple[Path, dict]:
    path = data / f"dedup-{n}-s{seed}.jsonl.gz"
    truth_path = data / f"dedup-{n}-s{seed}.truth.json"
    if not truth_path.exists():
        t = time.perf_counter()
        print(f"generating {n} essays into {path} …", file=sys.stderr)
        essays, truth = generate(n, seed)
        data.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=3) as f:
            for essay_id, text in essays:
                f.write(json.dumps({"id": essay_id, "text": text}, ensure_ascii=False) + "\n")
        truth_path.write_text(json.dumps(truth), encoding="utf-8")
        print(f"generated in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return path, json.loads(truth_path.read_text(encoding="utf-8"))


def read_essays(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            yield row["id"], row["text"]


def peak_rss_mb() -> float:
    """VmHWM of this process (ru_maxrss would carry the parent's size over fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def datasketch_near_duplicates(essays, options):
    """``find_near_duplicates`` with its candidate pairs found by datasketch's MinHash and MinHashLSH."""
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    from grading.essays import duplicates as D

    hasher = D._Hasher()
    corpus = D._read(essays, options, hasher)
    members = np.flatnonzero(corpus.sizes >= D.MIN_SHARED_SHINGLES)
    if len(members) < 2:
        return []
    lsh = MinHashLSH(threshold=options.threshold / (3.0 - options.threshold), num_perm=options.num_perm)
    sketches = MinHash.bulk((corpus.set_of(int(i)).tolist() for i in members), num_perm=options.num_perm,
                            hashfunc=int)
    with lsh.insertion_session() as session:
        for pos, m in enumerate(sketches):
            session.insert(pos, m, check_duplication=False)
    pairs = sorted({(min(pos, other), max(pos, other)) for pos, m in enumerate(sketches)
                    for other in lsh.query(m) if other != pos})
    lo = members[np.array([p[0] for p in pairs], dtype=np.int64)]
    hi = members[np.array([p[1] for p in pairs], dtype=np.int64)]
    return D._report(corpus, lo, hi, options, hasher)


ENGINES = ("ours", "datasketch")


def detect_child(path: Path, out: Path, engine: str = "ours") -> int:
    """Runs in a fresh process: detection alone, its wall/CPU time and the process's peak RSS."""
    from grading.essays.duplicates import DuplicateOptions, find_near_duplicates
    find = datasketch_near_duplicates if engine == "datasketch" else find_near_duplicates
    base_mb = peak_rss_mb()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    pairs = find(read_essays(path), DuplicateOptions(ignore=(QUESTION,)))
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    out.write_text(json.dumps({
        "wall_s": wall, "cpu_s": r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime,
        "peak_rss_mb": peak_rss_mb(), "base_rss_mb": base_mb,
        "pairs": [[p.a, p.b, p.similarity, p.containment, len(p.passages)] for p in pairs]}))
    return 0


def pairwise(essays: dict[str, str], pairs: list[list[str]]) -> list[float]:
    """Exact containment of each pair measured on its own (question ignored, no document-frequency filter)."""
    from grading.essays.duplicates import DuplicateOptions, find_near_duplicates
    opts = DuplicateOptions(threshold=1e-9, ignore=(QUESTION,))
    out = []
    for a, b in pairs:
        found = find_near_duplicates([(a, essays[a]), (b, essays[b])], opts)
        out.append(found[0].containment if found else 0.0)
    return out


def run_size(n: int, seed: int, data: Path, engine: str = "ours") -> dict:
    path, truth = dataset(n, seed, data)
    out = data / f"dedup-{n}-s{seed}.{engine}.result.json"
    p = subprocess.run([sys.executable, "-m", "bench.dedup_bench", "--detect", str(path), "--out", str(out),
                        "--engine", engine], cwd=ROOT, timeout=3600)
    if p.returncode:
        raise SystemExit(f"detection failed for n={n} (exit {p.returncode})")
    res = json.loads(out.read_text())
    prov = truth["provenance"]
    planted = {tuple(sorted(x)) for x in truth["copies"]}
    near = {tuple(sorted(x)) for x in truth["near_misses"]}
    reported = {(a, b): (s, c, np_) for a, b, s, c, np_ in res["pairs"]}
    found = planted & reported.keys()
    near_reported = near & reported.keys()
    other = [(k, true_overlap(prov, *k)) for k in reported.keys() - planted]
    false_pairs = [(k, ov) for k, ov in other if ov < 0.30]
    missed = sorted(planted - found)
    wanted = {x for pair in (*near, *missed) for x in pair}
    essays = {i: t for i, t in read_essays(path) if i in wanted}
    near_c = pairwise(essays, sorted(near))            # margins, measured pair by pair
    missed_c = pairwise(essays, missed)
    planted_c = [reported[k][1] for k in found]
    planted_true = [true_overlap(prov, *k) for k in planted]
    near_true = [true_overlap(prov, *k) for k in near]
    return {
        "engine": engine, "n": n, "wall_s": round(res["wall_s"], 2), "cpu_s": round(res["cpu_s"], 2),
        "peak_rss_mb": round(res["peak_rss_mb"], 1), "base_rss_mb": round(res["base_rss_mb"], 1),
        "planted": len(planted), "found": len(found), "missed": [list(m) for m in missed],
        "missed_pairwise_containment": [round(c, 3) for c in missed_c],
        "planted_true_overlap_min": round(min(planted_true), 3),
        "planted_containment_min": round(min(planted_c), 3) if planted_c else None,
        "planted_containment_median": round(sorted(planted_c)[len(planted_c) // 2], 3) if planted_c else None,
        "near_misses": len(near), "near_misses_reported": len(near_reported),
        "near_true_overlap_range": [round(min(near_true), 3), round(max(near_true), 3)],
        "near_pairwise_containment_max": round(max(near_c), 3) if near_c else None,
        "reported": len(reported), "other_true_overlap_ge_30": len(other) - len(false_pairs),
        "false_pairs": len(false_pairs),
        "false_examples": [[a, b, round(ov, 3), round(reported[(a, b)][1], 3)] for (a, b), ov in false_pairs[:5]],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", default="5000", help="essay count, or several comma-separated")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data", default=str(ROOT / "bench" / "data"))
    ap.add_argument("--json", help="also write the figures as JSON here")
    ap.add_argument("--engine", default="ours",
                    help=f"who finds the candidate pairs: {' or '.join(ENGINES)}, or several comma-separated")
    ap.add_argument("--detect", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    engines = [e for e in args.engine.split(",") if e]
    if any(e not in ENGINES for e in engines):
        ap.error(f"--engine: {args.engine!r}; choose from {', '.join(ENGINES)}")
    if args.detect:
        return detect_child(Path(args.detect), Path(args.out), engines[0])

    sizes = [int(x) for x in args.n.split(",") if x]
    runs = [run_size(n, args.seed, Path(args.data), e) for n in sizes for e in engines]
    report = {"command": "python -m bench.dedup_bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
              "date": time.strftime("%Y-%m-%d"), "commit": commit(), "machine": machine(), "runs": runs}
    print(f"$ {report['command']}")
    print(f"{report['date']} commit {report['commit']} (+ working tree) on {report['machine']}")
    from grading.essays.duplicates import DuplicateOptions

    d = DuplicateOptions()
    print(f"  options: DuplicateOptions(ignore=(QUESTION,)) defaults: {d.shingle_words}-word shingles, "
          f"{d.num_perm} permutations, containment ≥ {d.threshold}, boilerplate df {d.boilerplate_df:.0%}")
    for r in runs:
        print(f"  n={r['n']} ({r['engine']}): {r['wall_s']} s wall ({r['cpu_s']} s CPU), "
              f"peak RSS {r['peak_rss_mb']} MB (interpreter + numpy before the call: {r['base_rss_mb']} MB)")
        print(f"    planted copies found {r['found']}/{r['planted']} (true overlap ≥ {r['planted_true_overlap_min']}; "
              f"containment min {r['planted_containment_min']}, median {r['planted_containment_median']})"
              + (f"; MISSED {r['missed']} pairwise containment {r['missed_pairwise_containment']}"
                 if r["missed"] else ""))
        print(f"    near misses reported {r['near_misses_reported']}/{r['near_misses']} (true overlap "
              f"{r['near_true_overlap_range'][0]}–{r['near_true_overlap_range'][1]}; max containment measured "
              f"pair by pair {r['near_pairwise_containment_max']})")
        print(f"    reported {r['reported']}: planted {r['found']}, other pairs with true overlap ≥ 30 % "
              f"{r['other_true_overlap_ge_30']}, FALSE pairs (true overlap < 30 %) {r['false_pairs']}"
              + (f" e.g. {r['false_examples']}" if r["false_examples"] else ""))
    for e in engines if runs and max(sizes) < 50_000 else ():
        mine = [r for r in runs if r["engine"] == e]
        big = mine[-1]
        est = big["wall_s"] * 50_000 / big["n"]
        line = f"  EXTRAPOLATION (not measured, {e}) to n=50000: linear from n={big['n']}: {est:.0f} s"
        if len(mine) >= 2 and mine[-2]["n"] < big["n"]:
            a, b = mine[-2], mine[-1]
            slope = math.log(b["wall_s"] / a["wall_s"]) / math.log(b["n"] / a["n"])
            line += (f"; power law fitted on n={a['n']},{b['n']} (exponent {slope:.2f}): "
                     f"{b['wall_s'] * (50_000 / b['n']) ** slope:.0f} s")
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
