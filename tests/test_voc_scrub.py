"""The VOC scrubber: comments lose names, phones, e-mails and order ids, and nothing else."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.voc.scrub import COMMON_NAMES, Masks, mask_share, scrub

MASKS = Masks()
MASK_VALUES = (MASKS.name, MASKS.phone, MASKS.email, MASKS.order)

# Ordinary words of customers' comments: none is a name or a name's stem with an ending.
_SAFE_TEXT = (
    "доставка курьер быстро медленно упаковка коробка фильтр вода качество цена скидка "
    "спасибо магазин товар вернуть брак сломался понравилось очень плохо хорошо пришёл "
    "поздно рано вежливо грубо оператор ответили звонок сайт корзина оплата чек крышка "
    "вкус запах вера надежда любовь роман слава"
)
SAFE_WORDS = tuple(_SAFE_TEXT.split())
SURNAMES = ("Кузнецова", "Смирнов", "Попова", "Волков", "Лебедева", "Соколов")
# Russian cases by the name's last letter (nominative, genitive, dative, accusative, instrumental).
CASES = {
    "а": ("а", "ы", "е", "у", "ой"),
    "я": ("я", "и", "е", "ю", "ей"),
    "ь": ("ь", "я", "ю", "ем", "е"),
    "й": ("й", "я", "ю", "ем", "е"),
}
CONSONANT_CASES = ("", "а", "у", "ом", "е")


def inflect(name: str, case: int) -> str:
    """The name in one of five cases (0 is the name as written)."""
    endings = CASES.get(name[-1])
    if endings is None:
        return name + CONSONANT_CASES[case]
    return name[:-1] + endings[case]


digits = st.text(alphabet="0123456789", min_size=10, max_size=10)


@st.composite
def phones(draw: st.DrawFn) -> str:
    d = draw(digits)
    forms = (
        f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
        f"+7{d}",
        f"8 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
        f"8{d}",
        f"8-{d[:3]}-{d[3:6]}-{d[6:8]}-{d[8:]}",
        f"+7 {d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}",
        f"8 ({d[:3]}) {d[3:]}",
    )
    return draw(st.sampled_from(forms))


emails = st.builds(
    lambda a, b, c, tld: f"{a}{b}@{c}.{tld}",
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", max_size=6).map(
        lambda s: s.rstrip(".")
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8),
    st.sampled_from(("ru", "com", "рф", "org")),
)


@st.composite
def order_ids(draw: st.DrawFn) -> str:
    number = draw(st.integers(min_value=1000, max_value=99_999_999))
    forms = (f"A-{number}", f"ZK{number}", f"{number:05d}", f"ORD-2026-{number}", f"{number}-B")
    return draw(st.sampled_from(forms))


@st.composite
def comments(draw: st.DrawFn) -> tuple[str, list[str], list[str], str, list[str]]:
    """A text of safe words with PII dropped in; (text, secrets, safe words, name, known ids)."""
    first = draw(st.sampled_from(COMMON_NAMES))
    surname = draw(st.sampled_from(SURNAMES))
    known_ids = draw(st.lists(order_ids(), max_size=2))
    # The customer's own name goes in any case, even where it is also a word (a customer named
    # Слава loses «слава» too): those words are not "ordinary" for this customer.
    own = tuple(n[:-1].lower() if n[-1] in "аяь" else n.lower() for n in (first, surname))
    words = [w for w in SAFE_WORDS if not w.startswith(own)]
    parts: list[str] = []
    secrets: list[str] = []
    safe: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        kind = draw(st.sampled_from(("word", "word", "name", "surname", "phone", "email", "order")))
        if kind == "word":
            word = draw(st.sampled_from(words))
            safe.append(word)
            parts.append(word)
            continue
        if kind == "name":
            value = inflect(first, draw(st.integers(0, 4)))
        elif kind == "surname":
            value = inflect(surname, draw(st.integers(0, 4)))
        elif kind == "phone":
            value = draw(phones())
        elif kind == "email":
            value = draw(emails)
        else:
            value = (
                draw(st.sampled_from(known_ids))
                if known_ids and draw(st.booleans())
                else draw(order_ids())
            )
            if draw(st.booleans()):
                prefix = draw(st.sampled_from(("заказ ", "заказ №", "№", "order #")))
                safe.extend(re.findall(r"[а-яё]+", prefix))
                secrets.append(value)
                parts.append(prefix + value)
                continue
        secrets.append(value)
        parts.append(value)
    separators = draw(
        st.lists(st.sampled_from((" ", ", ", ". ", " — ", "! ")), min_size=len(parts))
    )
    text = "".join(p + s for p, s in zip(parts, separators, strict=False)).strip()
    return text, secrets, safe, f"{first} {surname}", known_ids


@given(comments())
def test_every_personal_detail_goes_and_every_ordinary_word_stays(case: tuple) -> None:
    text, secrets, safe, name, known_ids = case
    out = scrub(text, names=[name], order_ids=known_ids)
    # Every digit in the text came from a phone or an order id; every @ from an e-mail.
    assert not re.search(r"\d", out), (text, out)
    assert "@" not in out
    lowered = out.lower()
    for secret in secrets:
        assert secret.lower() not in lowered, (secret, text, out)
    for word in name.split():
        assert not re.search(rf"(?<!\w){word[:-1].lower()}", lowered), (word, text, out)
    # Nothing else is lost: the ordinary words are all there, in their order.
    remaining = [w for w in re.findall(r"[а-яё]+", lowered)]
    assert remaining == safe, (text, out)


@given(comments())
def test_scrubbing_twice_changes_nothing_more(case: tuple) -> None:
    text, _secrets, _safe, name, known_ids = case
    once = scrub(text, names=[name], order_ids=known_ids)
    assert scrub(once, names=[name], order_ids=known_ids) == once


def test_the_examples_of_the_issue() -> None:
    text = (
        "Меня зовут Анна Кузнецова, мой телефон +7 (916) 555-12-34, второй 8 916 555 12 35, "
        "почта anna.k@example.ru. Заказ A-1001 привезли без крышки, Игорь извинился."
    )
    out = scrub(text, names=["Анна Кузнецова"], order_ids=["A-1001"])
    assert out == (
        "Меня зовут [name] [name], мой телефон [phone], второй [phone], "
        "почта [e-mail]. Заказ [order] привезли без крышки, [name] извинился."
    )


def test_prices_dates_and_lowercase_words_stay() -> None:
    text = (
        "Цена 1 500 руб., доставка за 2 дня, 12.05 пришло. вера в магазин вернулась, роман с ним."
    )
    out = scrub(text)
    for kept in ("1 500", "2 дня", "12.05", "роман"):
        assert kept in out


def test_masks_are_translatable_and_counted() -> None:
    ru = Masks(name="[имя]", phone="[телефон]", email="[e-mail]", order="[заказ]")
    out = scrub("Звоните 89161234567, Ольга", masks=ru)
    assert out == "Звоните [телефон], [имя]"
    assert 0 < mask_share(out, ru) < 1
    assert mask_share("[телефон]", ru) == 1
