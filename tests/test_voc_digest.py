"""The VOC digest, pure: which comments go in, and what the message says."""

from __future__ import annotations

import html

from bot.voc.digest import CommentCandidate, MonthFigures, issue_body, pick_comments, render_issue


def _c(review_id: int, customer: int, rating: int, body: str, **kw: object) -> CommentCandidate:
    return CommentCandidate(review_id, customer, rating, body, **kw)


def test_three_to_five_comments_harsh_and_warm_in_turn_one_per_customer_scrubbed() -> None:
    candidates = [
        _c(1, 1, 1, "Курьер опоздал на три часа, Анна не отвечала", names=("Анна Кузнецова",)),
        _c(2, 2, 5, "Всё отлично, звоните мне 8 916 555 12 34 ещё"),
        _c(3, 3, 2, "Заказ A-77 пришёл помятым, коробка порвана", order_ids=("A-77",)),
        _c(4, 4, 4, "ок"),  # too short to say anything
        _c(5, 5, 5, "Очень вежливый оператор, всё объяснил подробно"),
        _c(6, 1, 3, "Пишите на anna@example.ru, жду ответа по возврату", names=("Анна",)),
        _c(7, 6, 4, "[name] [phone]"),  # nothing but masks
        _c(8, 7, 3, "Нормально, но сайт иногда тормозит при оплате"),
    ]
    picked = pick_comments(candidates)
    assert len(picked) == 5
    texts = [t for _r, t in picked]
    assert not any("Анна" in t or "8 916" in t or "A-77" in t or "@" in t for t in texts)
    # Customer 1 is heard once, with the newest words.
    assert sum("возврату" in t for t in texts) == 1
    assert not any("опоздал" in t for t in texts)
    ratings = [r for r, _t in picked]
    assert ratings[0] == 2
    assert ratings[1] == 5


def test_the_message_in_russian_masks_translated_and_comments_escaped() -> None:
    figures = MonthFigures(
        nps_promoters=6, nps_passives=2, nps_detractors=2, ratings=10, satisfied=8,
        complaints=3, complaints_answered=2, answer_hours=[2.0, 5.0],
    )  # fmt: skip
    body = issue_body(figures, [(1, "Звонил [name], <b>грубо</b>")])
    ru = {"[name]": "[имя]"}
    text = render_issue(
        lambda s, **kw: ru.get(s, s).format(**kw), body, "февраль 2026", html.escape
    )
    assert "NPS: 40" in text
    assert "CSAT: 80 % of 10 ratings" in text
    assert "Complaints: 3, answered 2; median time to an answer: 3.5 h" in text
    assert "«Звонил [имя], &lt;b&gt;грубо&lt;/b&gt;»" in text
    assert "Only 1 comments" in text
    assert "CES: not measured yet" in text


def test_a_quiet_month() -> None:
    body = issue_body(MonthFigures(), [])
    text = render_issue(lambda s, **kw: s.format(**kw), body, "март", html.escape)
    assert "NPS: —" in text
    assert "No comments this month." in text
