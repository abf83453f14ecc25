"""Personal data on request, through the wire: /forget, /forget_customer and /leave."""

from __future__ import annotations

from bot.app import BotApp
from bot.callbacks import ForgetCustomerCb, PrivacyAction, PrivacyCb
from bot.customers import purchases
from bot.customers.schema import PurchaseIn
from bot.emulator import BotAPIEmulator, FakeUser
from bot.privacy.service import clean_external_id, mask_phone
from storage.outbox import SURVEY_REMINDER
from storage.timestamps import to_db
from tests.db_snapshot import diff, snapshot
from tests.ingest_helpers import purchase
from tests.survey_helpers import admin, answer, db_count, invite_link, join, start_wave

CUSTOMER_TG = 7001


async def add_customer(
    app: BotApp,
    tg: BotAPIEmulator,
    *,
    external_id: str = "C-100",
    name: str = "Мария Иванова",
    phone: str = "+7 999 123-45-67",
    telegram_id: int | None = CUSTOMER_TG,
) -> int:
    """A customer who bought (as the purchases API records it), opened the receipt link and
    rated the purchase; the review reminder and the restock reminder are still queued."""
    body = PurchaseIn.model_validate(
        purchase(f"O-{external_id}", external_id, name=name, phone=phone, at=app.clock.now()),
        strict=False,
    )
    recorded = await purchases.record(
        app.db, body, purchases.Timing.from_settings(app.settings), app.clock.now()
    )
    if telegram_id is not None:
        user = tg.user(telegram_id, "Мария")
        user.send(f"/start {recorded.link_payload}")
        await tg.settle()
        user.share_contact(phone)  # the bot asks her to confirm the link with her phone
        await tg.settle()
    now = to_db(app.clock.now())
    async with app.db.write() as conn:
        # The review conversation's outcome (its own feature): a low rating with a comment.
        await conn.execute(
            "UPDATE reviews SET rating = 2, rated_at = ?, comment = 'курьер опоздал', "
            "requested_at = ?, status = 'answered' WHERE customer_id = ?",
            (now, now, recorded.customer_id),
        )
        await conn.execute(
            "INSERT INTO outbox (kind, customer_id, due_at, status, created_at) "
            "VALUES ('review_request', ?, ?, 'sent', ?)",
            (recorded.customer_id, now, now),
        )
    return recorded.customer_id


async def customer_row(app: BotApp, customer_id: int) -> dict[str, object]:
    async with (
        app.db.read() as conn,
        conn.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)) as cur,
    ):
        row = await cur.fetchone()
    assert row is not None
    return dict(row)


def buttons(user: FakeUser) -> list[str]:
    return [
        b["text"]
        for row in user.last.get("reply_markup", {}).get("inline_keyboard", [])
        for b in row
    ]


# --- pure helpers ------------------------------------------------------------------------------
def test_mask_phone_keeps_only_the_ends() -> None:
    assert mask_phone("+79991234567") == "+799•••••567"
    assert mask_phone("+1234") == "•••••"
    assert mask_phone(None) is None


def test_clean_external_id_refuses_what_cannot_be_an_id() -> None:
    assert clean_external_id("  C-100 ") == "C-100"
    assert clean_external_id("") is None
    assert clean_external_id("x" * 65) is None
    assert clean_external_id("a\nb") is None


# --- a customer's own /forget --------------------------------------------------------------------
async def test_forget_asks_first_and_then_deletes_the_person(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    customer_id = await add_customer(app, tg)
    before = await customer_row(app, customer_id)
    queued = await outbox_count(app, customer_id, "pending")
    assert queued > 0
    maria = tg.user(CUSTOMER_TG, "Мария")
    old_link = f"/start c_{before['link_token']}"

    maria.send("/forget")
    await tg.settle()
    assert "Удалить ваши данные?" in maria.last["text"]
    assert buttons(maria) == ["Да, удалить", "Нет, оставить"]
    assert await customer_row(app, customer_id) == before  # asking changes nothing

    maria.click("Да, удалить")
    await tg.settle()
    assert "Готово: ваш номер телефона, имя и связь с Telegram удалены" in maria.last["text"]
    assert "reply_markup" not in maria.last  # the buttons are gone with the question
    assert maria.callback_answers()[-1].get("text") is None

    after = await customer_row(app, customer_id)
    assert (after["name"], after["phone"], after["telegram_id"], after["language"]) == (None,) * 4
    assert after["forgotten_at"] == to_db(app.clock.now())
    assert after["link_token"] != before["link_token"]
    assert after["external_id"] == "C-100"  # the shop's own id: the anonymous ratings stay counted
    rated = "SELECT COUNT(*) FROM reviews WHERE customer_id = ? AND rating = 2 AND comment <> ''"
    assert await db_count(app, rated, customer_id) == 1
    assert await outbox_count(app, customer_id, "pending") == 0
    assert await outbox_count(app, customer_id, "cancelled") == queued
    assert await outbox_count(app, customer_id, "sent") == 1  # history is history

    # The old receipt link ties nobody to the record any more.
    maria.send(old_link)
    await tg.settle()
    assert (await customer_row(app, customer_id))["telegram_id"] is None

    # The shop sends the next purchase with name and phone: the record stays anonymous.
    body = PurchaseIn.model_validate(
        purchase("O-2", "C-100", name="Мария", phone="+79991234567", at=app.clock.now()),
        strict=False,
    )
    await purchases.record(
        app.db, body, purchases.Timing.from_settings(app.settings), app.clock.now()
    )
    again = await customer_row(app, customer_id)
    assert (again["name"], again["phone"], again["telegram_id"]) == (None, None, None)
    assert await outbox_count(app, customer_id, "pending") == 0


async def outbox_count(app: BotApp, customer_id: int, status: str) -> int:
    return await db_count(
        app, "SELECT COUNT(*) FROM outbox WHERE customer_id = ? AND status = ?", customer_id, status
    )


async def test_forget_cancelled_keeps_everything(app: BotApp, tg: BotAPIEmulator) -> None:
    await add_customer(app, tg)
    maria = tg.user(CUSTOMER_TG, "Мария")
    maria.send("/forget")
    await tg.settle()
    before = snapshot(app.settings.database_path)
    maria.click("Нет, оставить")
    await tg.settle()
    assert maria.last["text"] == "Ничего не удалено."
    assert diff(before, snapshot(app.settings.database_path)) == {}


async def test_a_second_press_of_an_old_confirmation_does_nothing_more(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    await add_customer(app, tg)
    maria = tg.user(CUSTOMER_TG, "Мария")
    maria.send("/forget")
    await tg.settle()
    question = maria.last
    data = PrivacyCb(action=PrivacyAction.FORGET, confirm=True).pack()
    maria.press_data(data, message=question)
    await tg.settle()
    before = snapshot(app.settings.database_path)
    app.clock.advance(minutes=5)
    maria.press_data(data, message=question)  # a stale client still showing the button
    await tg.settle()
    assert diff(before, snapshot(app.settings.database_path)) == {}
    refusal = maria.callback_answers()[-1]
    assert refusal["text"] == "С этим аккаунтом Telegram не связаны никакие данные покупателя."
    assert refusal["show_alert"] is True


async def test_forget_from_someone_unknown_stores_nothing(app: BotApp, tg: BotAPIEmulator) -> None:
    await add_customer(app, tg)
    stranger = tg.user(7002, "Пётр")
    before = snapshot(app.settings.database_path)
    stranger.send("/forget")
    await tg.settle()
    assert (
        stranger.last["text"] == "С этим аккаунтом Telegram не связаны никакие данные покупателя."
    )
    # A forged confirmation from them touches nobody else's row: the action is the presser's own.
    stranger.press_data(PrivacyCb(action=PrivacyAction.FORGET, confirm=True).pack())
    await tg.settle()
    assert diff(before, snapshot(app.settings.database_path)) == {}


async def test_forget_points_an_employee_to_leave(app: BotApp, tg: BotAPIEmulator) -> None:
    anna = tg.user(1001, "Anna")
    await join(tg, anna, await invite_link(tg, "Продажи"))
    anna.send("/forget")
    await tg.settle()
    assert "отправьте /leave" in anna.last["text"]


# --- an admin forgets a customer -----------------------------------------------------------------
async def test_admin_forgets_a_customer_after_confirming(app: BotApp, tg: BotAPIEmulator) -> None:
    customer_id = await add_customer(app, tg, name="<b>Ева</b> & Co", external_id="A<1>")
    boss = admin(tg)
    before = snapshot(app.settings.database_path)

    boss.send("/forget_customer A<1>")
    await tg.settle()
    text = boss.last["text"]
    # Names from the shop are shown as typed, never as markup.
    assert "Покупатель «A<1>»: <b>Ева</b> & Co, +799•••••567, Telegram привязан" in text
    assert "отзывов с оценкой: 1" in text
    assert "+79991234567" not in text
    assert diff(before, snapshot(app.settings.database_path)) == {}

    boss.click("Да, удалить")
    await tg.settle()
    assert "Готово: номер телефона, имя и связь с Telegram удалены" in boss.last["text"]
    row = await customer_row(app, customer_id)
    assert (row["name"], row["phone"], row["telegram_id"]) == (None, None, None)
    assert row["forgotten_at"] is not None

    boss.send("/forget_customer A<1>")
    await tg.settle()
    assert "Данные покупателя «A<1>» уже удалены 12.01.2026" in boss.last["text"]
    assert "reply_markup" not in boss.last

    # The old confirmation pressed again (a second admin's client, say): nothing more happens.
    before = snapshot(app.settings.database_path)
    boss.press_data(ForgetCustomerCb(customer=customer_id, confirm=True).pack())
    await tg.settle()
    assert boss.last["text"] == "Данные этого покупателя уже удалены."
    assert diff(before, snapshot(app.settings.database_path)) == {}

    # The customer's Telegram account is no longer tied to anything.
    maria = tg.user(CUSTOMER_TG, "Мария")
    maria.send("/forget")
    await tg.settle()
    assert "не связаны никакие данные покупателя" in maria.last["text"]


async def test_admin_forget_refusals_change_nothing(app: BotApp, tg: BotAPIEmulator) -> None:
    customer_id = await add_customer(app, tg)
    boss = admin(tg)
    before = snapshot(app.settings.database_path)

    boss.send("/forget_customer")
    await tg.settle()
    assert "Укажите id покупателя в магазине" in boss.last["text"]

    boss.send("/forget_customer <i>nobody</i>")
    await tg.settle()
    assert boss.last["text"] == "Покупателя с id «<i>nobody</i>» нет."

    boss.send("/forget_customer C-100")
    await tg.settle()
    boss.click("Нет, оставить")
    await tg.settle()
    assert boss.last["text"] == "Ничего не удалено."

    boss.press_data(ForgetCustomerCb(customer=customer_id + 1000, confirm=True).pack())
    await tg.settle()
    assert tg.calls_of("answerCallbackQuery")[-1].params["text"] == "Такого покупателя нет."

    stranger = tg.user(7003, "Mallory")
    stranger.send("/forget_customer C-100")
    await tg.settle()
    assert "доступна только администраторам" in stranger.last["text"]
    stranger.press_data(ForgetCustomerCb(customer=customer_id, confirm=True).pack())
    await tg.settle()
    assert stranger.callback_answers()[-1]["text"] == "Эта кнопка больше не действует."

    assert diff(before, snapshot(app.settings.database_path)) == {}


# --- an employee leaves --------------------------------------------------------------------------
async def test_leave_drops_the_telegram_id_and_keeps_the_answers(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    await start_wave(tg, app)
    await answer(tg, anna, [4, 5])

    anna.send("/leave")
    await tg.settle()
    assert "Выйти из опроса?" in anna.last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM employees WHERE telegram_id = 1001") == 1

    anna.click("Да, выйти")
    await tg.settle()
    assert "Готово: вы вышли из опроса" in anna.last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM employees WHERE telegram_id IS NOT NULL") == 0
    assert await db_count(app, "SELECT COUNT(*) FROM employees WHERE left_at IS NOT NULL") == 1
    assert await db_count(app, "SELECT COUNT(*) FROM survey_answers") == 2
    pending = await db_count(
        app, "SELECT COUNT(*) FROM outbox WHERE kind = ? AND status = 'pending'", SURVEY_REMINDER
    )
    assert pending == 0  # no reminder for someone who left

    anna.send("/survey")
    await tg.settle()
    assert "Опрос проходят только зарегистрированные сотрудники" in anna.last["text"]

    # The reminder time comes: nothing goes to her.
    sent_before = len(anna.bot_messages())
    app.clock.advance(days=4)
    await app.outbox.tick()
    assert len(anna.bot_messages()) == sent_before

    # Coming back is an invitation link away; her answers in the open wave are still hers.
    await join(tg, anna, link)
    assert "Вопрос 3 из 6" in anna.last["text"]


async def test_leave_refusals_change_nothing(app: BotApp, tg: BotAPIEmulator) -> None:
    anna = tg.user(1001, "Anna")
    await join(tg, anna, await invite_link(tg, "Продажи"))
    stranger = tg.user(1002, "Boris")
    before = snapshot(app.settings.database_path)

    stranger.send("/leave")
    await tg.settle()
    assert stranger.last["text"] == "Вы не зарегистрированы как сотрудник, выходить неоткуда."
    stranger.press_data(PrivacyCb(action=PrivacyAction.LEAVE, confirm=True).pack())
    await tg.settle()
    assert "не зарегистрированы как сотрудник" in stranger.last["text"]

    anna.send("/leave")
    await tg.settle()
    anna.click("Нет, остаться")
    await tg.settle()
    assert anna.last["text"] == "Вы остаётесь в опросе."
    assert diff(before, snapshot(app.settings.database_path)) == {}


async def test_privacy_commands_are_in_the_menus(app: BotApp, tg: BotAPIEmulator) -> None:
    default = next(v for k, v in tg.commands.items() if '"default"' in k and k.endswith("|"))
    names = [c["command"] for c in default]
    assert "forget" in names
    assert "leave" in names
    admin_menu = next(v for k, v in tg.commands.items() if '"chat_id": 1' in k)
    assert "forget_customer" in [c["command"] for c in admin_menu]
