"""Cases and welcomes at their edges, through the wire: a welcome per role, the profile texts,
forged and misplaced presses, non-text answers, /forget of what was written.

Every refused input gets a clear answer and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.callbacks import CaseAction, CaseCb, CaseConfirmCb
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from tests.factories import TEA, buy, link, one, press, press_data
from tests.survey_helpers import invite_link, join

SHOP = "Чайная лавка"


async def cases_snapshot(app: Any) -> list[tuple[Any, ...]]:
    async with app.db.read() as conn:
        out: list[tuple[Any, ...]] = []
        for table in ("cases", "case_messages", "case_reply_targets", "outbox"):
            async with conn.execute(f"SELECT * FROM {table} ORDER BY 1") as cur:
                out += [(table, *row) for row in await cur.fetchall()]
    return out


async def test_a_welcome_for_each_role_and_the_profile_texts(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start_app(shop_name=SHOP, company_name="ООО Чай")
    # setMyDescription / setMyShortDescription in Russian (the default) and English.
    descriptions = {
        (c.method, c.params.get("language_code")): c.params
        for c in tg.calls
        if c.method in ("setMyDescription", "setMyShortDescription")
    }
    assert SHOP in descriptions["setMyDescription", None]["description"]
    assert "напоминания о пополнении" in descriptions["setMyDescription", None]["description"]
    assert "restock reminders" in descriptions["setMyDescription", "en"]["description"]
    short = descriptions["setMyShortDescription", None]["short_description"]
    assert short.startswith(SHOP)
    assert len(short) <= 120

    stranger = tg.user(5001, "Ира")
    stranger.send("/help")
    await tg.settle()
    text = stranger.last["text"]
    assert text.startswith(f"🏪 {SHOP}")
    assert "бот программы клиентоцентричности компании «ООО Чай»" in text
    assert "/link" in text

    olga = tg.user(1, "Olga")
    olga.send("/start")
    await tg.settle()
    text = olga.last["text"]
    assert f"Вы администратор бота «{SHOP}»" in text
    assert "/invite <отдел> — ссылка-приглашение" in text  # escaped, shown as written
    assert "«Ответить клиенту»" in text

    ivan = tg.user(5002, "Иван")
    await join(tg, ivan, await invite_link(tg, "Продажи"))
    ivan.send("/help")
    await tg.settle()
    assert "опрос о клиентоцентричности компании «ООО Чай»" in ivan.last["text"]
    assert "/survey" in ivan.last["text"]

    anna = tg.user(7001, "Анна")
    await link(tg, await buy(app, "A-1", "cust-1", TEA), anna)
    anna.send("/help")
    await tg.settle()
    assert "Есть вопрос? Просто напишите его сюда" in anna.last["text"]


async def test_forged_and_misplaced_presses_change_nothing(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(shop_name=SHOP)
    olga = tg.user(1, "Olga")
    anna, bob = tg.user(7001, "Анна"), tg.user(7002, "Боб")
    await link(tg, await buy(app, "A-1", "cust-1", TEA), anna)
    await link(tg, await buy(app, "B-1", "cust-2", TEA), bob)
    anna.send("Вопрос")
    await tg.settle()
    await app.outbox.tick()
    case_id = await one(app, "SELECT id FROM cases")
    await press(tg, olga, "Решено")
    await app.outbox.tick()
    before = await cases_snapshot(app)

    # Bob answers Anna's «Вопрос решён?» with forged data: refused, nothing changes.
    answer = await press_data(tg, bob, CaseConfirmCb(case=case_id, solved=False).pack())
    assert answer["text"] == "Эта кнопка больше не действует."
    # A customer pressing an admin's button.
    answer = await press_data(tg, bob, CaseCb(case=case_id, action=CaseAction.RESOLVE).pack())
    assert answer["text"] == "Эта кнопка — только для администраторов бота."
    # An admin pressing a case that does not exist.
    answer = await press_data(tg, olga, CaseCb(case=case_id + 9, action=CaseAction.REPLY).pack())
    assert answer["text"] == "Эта кнопка больше не действует."
    assert await cases_snapshot(app) == before

    # Anna's own «Да», twice: the first closes it, the second changes nothing.
    await press(tg, anna, "Да")
    await app.outbox.tick()  # the admins' note goes first: the snapshot is of a quiet state
    closed = await cases_snapshot(app)
    answer = await press_data(tg, anna, CaseConfirmCb(case=case_id, solved=True).pack())
    assert answer["text"] == "Ваш ответ уже сохранён. Спасибо!"
    assert await cases_snapshot(app) == closed
    # «Ответить клиенту» on the closed case is refused at the press.
    answer = await press_data(tg, olga, CaseCb(case=case_id, action=CaseAction.REPLY).pack())
    assert answer["text"] == "Это обращение закрыто."
    assert await cases_snapshot(app) == closed


async def test_a_non_text_answer_is_refused_clearly(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start_app(shop_name=SHOP)
    olga = tg.user(1, "Olga")
    anna = tg.user(7001, "Анна")
    await link(tg, await buy(app, "A-1", "cust-1", TEA), anna)
    anna.send("Вопрос")
    await tg.settle()
    await app.outbox.tick()
    await press(tg, olga, "Ответить клиенту")
    before = await cases_snapshot(app)
    olga.share_contact("+79990000000")
    await tg.settle()
    assert "Такое сообщение клиенту не отправить" in olga.last["text"]
    assert await cases_snapshot(app) == before
    # The «Ответить клиенту» still stands: the next text is the answer.
    olga.send("Текстом: всё в порядке")
    await tg.settle()
    await app.outbox.tick()
    assert "Текстом: всё в порядке" in anna.last["text"]


async def test_forget_clears_what_was_written_in_cases(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start_app(shop_name=SHOP)
    olga = tg.user(1, "Olga")
    anna = tg.user(7001, "Анна")
    await link(tg, await buy(app, "A-1", "cust-1", TEA), anna)
    anna.send("Мой адрес: ул. Ленина, 1")
    await tg.settle()
    await app.outbox.tick()
    await press(tg, olga, "Ответить клиенту")
    olga.send("Привезём по адресу ул. Ленина, 1")
    await tg.settle()
    anna.send("/forget")
    await tg.settle()
    await press(tg, anna, "Да, удалить")
    assert await one(app, "SELECT COUNT(*) FROM case_messages WHERE text IS NOT NULL") == 0
    assert await one(app, "SELECT COUNT(*) FROM cases") == 1  # the case still counts
