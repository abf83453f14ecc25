"""Removing personal details from a customer's comment before employees read it.

A pure function of the text and what the shop told us (the customer's name, their order ids), so
it can be checked over generated texts. It errs on the side of removing: a comment that loses a
long number it did not need is better than one that shows a phone.

What goes, in this order (an e-mail holds digits that would otherwise look like an order):
- e-mail addresses;
- phone numbers: any run of at least 7 digits, with spaces, dashes, dots or brackets between
  them and an optional leading +, so +7 (999) 123-45-67, 8 999 123 45 67, 89991234567 and a bare
  123-45-67 all go;
- order ids: the customer's own ids as the shop sent them, «заказ/order/№/#» followed by an id,
  words mixing letters and digits (A-1001, ZK12345) and bare numbers of 5 or more digits;
- names: the customer's name on record (any word of it, with Russian endings: Анна → Анны, Анне;
  in any case, even where it is also a word: a customer named Слава loses «слава» too),
  common Russian first names written with a capital, patronymics (…ович, …овна) and the word
  after «меня зовут / my name is».
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.texts import N_


@dataclass(frozen=True)
class Masks:
    name: str = N_("[name]")
    phone: str = N_("[phone]")
    email: str = N_("[e-mail]")
    order: str = N_("[order]")


_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
# Digits with separators inside; 7+ digits in all is checked by the replacement function.
_PHONE = re.compile(r"(?<![\w+])\+?\d(?:[\s\-.()]{0,3}\d){6,}(?!\w)")
_ORDER_WORD = re.compile(
    r"(?i)(?:заказ\w*|order|№|#)\s*(?:№|#|no\.?)?\s*([A-Za-zА-Яа-яЁё0-9][\w\-/]*\d[\w\-/]*)"
)
# A word with at least one letter and one digit (A-1001, ZK12345, 12345-B): order-like.
_MIXED = re.compile(
    r"(?<![\w@])(?=[\w\-/]*\d)(?=[\w\-/]*[A-Za-zА-Яа-яЁё])[A-Za-zА-Яа-яЁё0-9]+(?:[\-/][A-Za-zА-Яа-яЁё0-9]+)*(?![\w@])"
)
_LONG_NUMBER = re.compile(r"(?<!\w)\d{5,}(?!\w)")
_PATRONYMIC = re.compile(
    r"\b[А-ЯЁ][а-яё]+(?:ович|евич|ич|овна|евна|ична|инична)(?:а|у|ем|ом|е|ой)?\b"
)
_CALLED = re.compile(r"(?i)(меня зовут|my name is|с уважением,?|зовут)\s+([А-ЯЁA-Z][\w\-]*)")
_CYR_ENDING = "[а-яё]{0,3}"

# Common Russian first names (and short forms) that customers write about staff and themselves.
# Matched only with a capital letter, so «вера», «роман», «надежда» as words stay.
_COMMON_NAMES_TEXT = (
    "Александр Алексей Анатолий Андрей Антон Артём Артем Борис Вадим Валентин Валерий Василий "
    "Виктор Виталий Владимир Владислав Вячеслав Геннадий Георгий Григорий Даниил Денис Дмитрий "
    "Евгений Егор Иван Игорь Илья Кирилл Константин Леонид Максим Михаил Никита Николай Олег "
    "Павел Пётр Петр Роман Руслан Сергей Станислав Степан Тимур Фёдор Федор Юрий Ярослав "
    "Саша Лёша Леша Дима Миша Коля Серёжа Сережа Ваня Женя Паша Петя Вова Костя Витя Слава "
    "Александра Алёна Алена Алина Алла Анастасия Анна Антонина Валентина Валерия Вера Вероника "
    "Виктория Галина Дарья Диана Евгения Екатерина Елена Елизавета Жанна Зоя Инна Ирина Карина "
    "Кристина Ксения Лариса Любовь Людмила Маргарита Марина Мария Надежда Наталья Наталия Нина "
    "Оксана Ольга Полина Светлана София Софья Таисия Тамара Татьяна Ульяна Юлия Яна "
    "Аня Катя Лена Оля Маша Наташа Света Таня Юля Настя Даша Ира Галя Люда Вика Ксюша Надя Соня"
)
COMMON_NAMES = tuple(_COMMON_NAMES_TEXT.split())


def _stem(name: str) -> str:
    """A name without its last vowel, to match its Russian cases (Анна → Анн…, Игорь → Игор…)."""
    if len(name) >= 3 and name[-1].lower() in "аяоеьйиы":
        return name[:-1]
    return name


def _name_pattern(names: Iterable[str], *, ignore_case: bool) -> re.Pattern[str] | None:
    stems = sorted({_stem(n) for n in names if len(n) >= 2}, key=len, reverse=True)
    if not stems:
        return None
    body = "|".join(re.escape(s) for s in stems)
    return re.compile(rf"(?<![\w]){'(?i:' if ignore_case else '(?:'}{body}){_CYR_ENDING}(?![\w])")


_COMMON = _name_pattern(COMMON_NAMES, ignore_case=False)


def _words(values: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value:
            out.extend(w for w in re.split(r"[\s,.;]+", value) if len(w) >= 2)
    return out


def scrub(
    text: str,
    *,
    names: Iterable[str | None] = (),
    order_ids: Iterable[str | None] = (),
    masks: Masks | None = None,
) -> str:
    """The text with e-mails, phones, order ids and names replaced by masks."""
    m = masks or Masks()
    out = _EMAIL.sub(m.email, text)
    # Known order ids first, exactly as the shop wrote them (they may look like anything).
    for order_id in sorted({o for o in order_ids if o and o.strip()}, key=len, reverse=True):
        out = re.sub(rf"(?<![\w]){re.escape(order_id.strip())}(?![\w])", m.order, out, flags=re.I)
    out = _PHONE.sub(
        lambda x: m.phone if sum(c.isdigit() for c in x.group()) >= 7 else x.group(), out
    )
    out = _ORDER_WORD.sub(lambda x: x.group()[: x.start(1) - x.start()] + m.order, out)
    out = _MIXED.sub(m.order, out)
    out = _LONG_NUMBER.sub(m.order, out)
    own = _name_pattern(_words(names), ignore_case=True)
    if own is not None:
        out = own.sub(m.name, out)
    out = _CALLED.sub(lambda x: x.group(1) + " " + m.name, out)
    out = _PATRONYMIC.sub(m.name, out)
    if _COMMON is not None:
        out = _COMMON.sub(m.name, out)
    return out


def mask_share(text: str, masks: Masks | None = None) -> float:
    """The share of a scrubbed text that is masks (mostly masks: not worth showing)."""
    m = masks or Masks()
    if not text:
        return 1.0
    masked = sum(text.count(v) * len(v) for v in (m.name, m.phone, m.email, m.order))
    return masked / len(text)
