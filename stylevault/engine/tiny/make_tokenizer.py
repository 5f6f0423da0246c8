"""Generates the tiny model's CLIP-format tokenizer (vocab.json + merges.txt) shipped beside it.

Run `python -m stylevault.engine.tiny.make_tokenizer` to regenerate; the output is deterministic.
It learns a small byte-level BPE from an English + Korean word list, splitting words with the
`tokenizers` library set up exactly like transformers' CLIPTokenizer, so the files load with
`CLIPTokenizer` like a real checkpoint's tokenizer. The merge loop is written out here rather than
using `tokenizers`' trainer, whose tie-breaking follows hash order and changes from run to run.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import pairwise
from pathlib import Path

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

OUT_DIR = Path(__file__).parent / "tokenizer"
VOCAB_SIZE = 2048
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
# CLIP's word splitter, as in transformers' CLIPTokenizer.
CLIP_SPLIT = (
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|"""
    r"""[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
)

ENGLISH = """
a an the of in on at with and or by for from to under over near behind inside outside
portrait landscape cityscape seascape still life character concept art illustration drawing
painting sketch watercolor watercolour oil acrylic gouache ink pencil charcoal pastel crayon
digital vector pixel anime manga comic cartoon storybook poster flyer banner logo icon
sticker lineart line art flat shading cel shaded soft hard light shadow highlight glow
bright dark dim warm cool vivid muted pastel neon monochrome sepia colorful colourful
red orange yellow green blue indigo violet purple pink brown black white gray grey gold
silver cyan magenta teal beige cream navy maroon olive coral
girl boy woman man child children person people family friend old young smiling happy sad
angry calm serious cute beautiful elegant strong tiny small big huge tall short
cat dog bird fish rabbit fox bear wolf deer horse dragon unicorn owl frog turtle butterfly
tree flower rose tulip cherry blossom leaf forest mountain river lake sea ocean beach sky
cloud rain snow sun moon star night day morning evening sunset sunrise winter spring summer
autumn fall city street house room kitchen cafe coffee tea cake bread menu shop store
market restaurant bakery school park garden road bridge castle temple tower village
car bus train bicycle boat ship plane rocket robot sword shield armor crown hat dress
shirt jacket coat shoes glasses bag umbrella book letter cup bowl plate table chair window
door lamp candle fire water ice stone wood metal glass paper fabric
background foreground detailed simple minimal clean rough loose tight texture grain noise
brush stroke strokes paint splash gradient pattern frame border composition perspective
close up closeup wide shot full body upper half face eyes hair hands smile
high quality best masterpiece low worst blurry sharp realistic photorealistic stylized
style artist studio licensed original new sale discount event promotion season holiday
christmas valentine birthday wedding party festival korean korea seoul busan hanbok
kimchi bibimbap tteokbokki ramen noodles rice soup
"""

KOREAN = """
그림 일러스트 초상화 풍경 도시 바다 하늘 구름 비 눈 해 달 별 밤 낮 아침 저녁 노을
봄 여름 가을 겨울 꽃 나무 숲 산 강 호수 해변 바람 불 물 얼음 돌
소녀 소년 여자 남자 아이 사람 가족 친구 할머니 할아버지 웃는 행복한 슬픈 귀여운 아름다운
고양이 강아지 새 물고기 토끼 여우 곰 늑대 사슴 말 용 부엉이 개구리 거북이 나비
빨간 주황 노란 초록 파란 남색 보라 분홍 갈색 검은 하얀 회색 금색 은색
빨간색 주황색 노란색 초록색 파란색 보라색 분홍색 갈색 검은색 흰색 회색
밝은 어두운 따뜻한 시원한 선명한 부드러운 강한 작은 큰 높은 낮은
수채화 유화 연필 목탄 파스텔 잉크 디지털 만화 애니메이션 포스터 배너 로고 스티커
선화 채색 그림자 빛 질감 배경 전경 구도 원근 얼굴 눈동자 머리카락 손 미소
카페 커피 차 케이크 빵 메뉴 가게 시장 식당 빵집 학교 공원 정원 거리 다리 성 탑 마을
자동차 버스 기차 자전거 배 비행기 로켓 로봇 칼 방패 왕관 모자 드레스 한복 안경 가방 우산
책 편지 컵 그릇 접시 탁자 의자 창문 문 등불 촛불
새로운 신메뉴 할인 행사 이벤트 홍보 계절 명절 크리스마스 생일 결혼식 축제
서울 부산 한국 김치 비빔밥 떡볶이 라면 국수 밥 국 고품질 최고 작품 스타일 작가 화가
"""


def _pretokenizer() -> Tokenizer:
    """CLIP's normalizer and pre-tokenizer, as in transformers' CLIPTokenizer."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    return tokenizer


def word_counts(text: str) -> Counter[tuple[str, ...]]:
    """Words as byte-level symbols, the last one marked with CLIP's end-of-word suffix."""
    tokenizer = _pretokenizer()
    normalized = tokenizer.normalizer.normalize_str(text)
    pieces = [piece for piece, _ in tokenizer.pre_tokenizer.pre_tokenize_str(normalized)]
    return Counter((*piece[:-1], piece[-1] + "</w>") for piece in pieces)


def _merge(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    out: list[str] = []
    i = 0
    while i < len(word):
        if word[i : i + 2] == pair:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train_merges(words: Counter[tuple[str, ...]], max_merges: int) -> list[tuple[str, str]]:
    """Plain BPE; ties go to the smallest pair so the output never depends on hash order."""
    merges: list[tuple[str, str]] = []
    while len(merges) < max_merges:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in words.items():
            for pair in pairwise(word):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        words = Counter({_merge(word, best): count for word, count in words.items()})
    return merges


def write_clip_files(merges: list[tuple[str, str]], out_dir: Path) -> None:
    """Writes vocab.json and merges.txt laid out like OpenAI CLIP's."""
    # Every byte symbol alone and as a word end, so no character is ever unknown.
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    symbols = [*alphabet, *(symbol + "</w>" for symbol in alphabet)]
    tokens = list(dict.fromkeys([*symbols, *(a + b for a, b in merges)]))
    # CLIP puts the start/end tokens at the very end; some code finds EOS with argmax(ids).
    vocab = {token: i for i, token in enumerate([*tokens, BOS, EOS])}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2", *(f"{a} {b}" for a, b in merges)]
    (out_dir / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def generate(out_dir: Path = OUT_DIR) -> None:
    alphabet_size = 2 * len(pre_tokenizers.ByteLevel.alphabet())
    merges = train_merges(word_counts(ENGLISH + KOREAN), VOCAB_SIZE - alphabet_size - 2)
    write_clip_files(merges, out_dir)


def main() -> None:
    generate()
    print(f"wrote {OUT_DIR}")


if __name__ == "__main__":
    main()
