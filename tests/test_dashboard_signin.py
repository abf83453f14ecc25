"""Dashboard sign-in: one-time links, sessions, Mini App initData (as Telegram documents), CSRF."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from bot.dashboard import service
from bot.dashboard.signin import (
    LINK_TTL,
    SESSION_TTL,
    Refused,
    WebAppUser,
    check_init_data,
    init_data_hash,
    same_token,
    token_hash,
)
from storage import Database

BOT_TOKEN = "123456:TEST-token"
NOW = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


def init_data(
    user_id: int = 1, *, when: datetime = NOW, token: str = BOT_TOKEN, **extra: str
) -> str:
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": "Ольга", "username": "olga"}),
        "auth_date": str(int(when.timestamp())),
        **extra,
    }
    fields["hash"] = init_data_hash(fields, token)
    return urlencode(fields)


# --- initData -----------------------------------------------------------------------------------
def test_init_data_signed_with_the_bot_token_names_the_user() -> None:
    user = check_init_data(init_data(42), BOT_TOKEN, NOW)
    assert isinstance(user, WebAppUser)
    assert (user.id, user.first_name, user.username) == (42, "Ольга", "olga")


def test_known_vector_from_the_documented_algorithm() -> None:
    # Computed by hand with the steps of core.telegram.org/bots/webapps, independent of the code.
    import hashlib
    import hmac

    fields = {"auth_date": "1768208400", "user": '{"id":7}', "query_id": "Q"}
    check = 'auth_date=1768208400\nquery_id=Q\nuser={"id":7}'
    secret = hmac.new(b"WebAppData", BOT_TOKEN.encode(), hashlib.sha256).digest()
    assert (
        init_data_hash(fields, BOT_TOKEN) == hmac.new(secret, check.encode(), "sha256").hexdigest()
    )


def test_init_data_of_another_bot_is_refused() -> None:
    assert check_init_data(init_data(token="999:OTHER"), BOT_TOKEN, NOW) is Refused.bad_signature


def test_a_changed_user_breaks_the_signature() -> None:
    forged = init_data(42).replace("%22id%22%3A+42", "%22id%22%3A+1")
    assert forged != init_data(42)
    assert check_init_data(forged, BOT_TOKEN, NOW) is Refused.bad_signature


def test_old_init_data_is_refused() -> None:
    stale = init_data(when=NOW - timedelta(hours=2))
    assert check_init_data(stale, BOT_TOKEN, NOW) is Refused.expired


@given(st.text(max_size=200))
def test_any_string_is_refused_or_checked_never_crashes(raw: str) -> None:
    result = check_init_data(raw, BOT_TOKEN, NOW)
    assert isinstance(result, Refused)


@given(st.dictionaries(st.sampled_from(["user", "auth_date", "x", "hash"]), st.text(max_size=20)))
def test_signed_but_malformed_fields_are_refused(fields: dict[str, str]) -> None:
    fields = {k: v for k, v in fields.items() if k != "hash"}
    fields["hash"] = init_data_hash(fields, BOT_TOKEN)
    result = check_init_data(urlencode(fields), BOT_TOKEN, NOW)
    assert isinstance(result, Refused | WebAppUser)
    if isinstance(result, WebAppUser):
        assert json.loads(fields["user"])["id"] == result.id


def test_a_repeated_key_is_refused() -> None:
    assert check_init_data(init_data() + "&user=%7B%22id%22%3A1%7D", BOT_TOKEN, NOW) is (
        Refused.malformed
    )


def test_tokens_compare_in_constant_time_and_hash_one_way() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abd", "abc")
    assert not same_token(None, "a")
    assert len(token_hash("x")) == 64
    assert token_hash("x") != "x"


# --- links and sessions -------------------------------------------------------------------------
async def _db(tmp_path: Path) -> Database:
    db = Database(tmp_path / "bot.sqlite3")
    await db.open(process_lock=False)
    return db


def admins(*ids: int):
    return lambda user_id: user_id in ids


async def test_a_link_signs_in_once(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        token = await service.issue_link(db, 1, NOW)
        session = await service.redeem_link(
            db, token, NOW + timedelta(minutes=1), is_admin=admins(1)
        )
        assert isinstance(session, service.Session)
        assert session.admin_id == 1
        assert session.expires_at == NOW + timedelta(minutes=1) + SESSION_TTL
        again = await service.redeem_link(db, token, NOW + timedelta(minutes=2), is_admin=admins(1))
        assert again is Refused.used
        async with db.read() as conn:
            async with conn.execute("SELECT token_hash FROM dashboard_links") as cur:
                stored = [r[0] for r in await cur.fetchall()]
            async with conn.execute("SELECT id_hash FROM dashboard_sessions") as cur:
                sessions = [r[0] for r in await cur.fetchall()]
        assert token not in stored
        assert session.token not in sessions
        actions = await _actions(db)
        assert actions == [(1, "signed_in")]
    finally:
        await db.close()


async def _actions(db: Database) -> list[tuple[int, str]]:
    async with (
        db.read() as conn,
        conn.execute("SELECT admin_id, action FROM dashboard_actions ORDER BY id") as cur,
    ):
        return [(r[0], r[1]) for r in await cur.fetchall()]


async def test_expired_forged_and_removed_admin_links_are_refused(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        token = await service.issue_link(db, 1, NOW)
        assert await service.redeem_link(db, token, NOW + LINK_TTL, is_admin=admins(1)) is (
            Refused.expired
        )
        assert await service.redeem_link(db, "forged", NOW, is_admin=admins(1)) is Refused.unknown
        other = await service.issue_link(db, 2, NOW)
        assert await service.redeem_link(db, other, NOW, is_admin=admins(1)) is Refused.not_admin
        # ...and stays dead if the person becomes an admin again.
        assert await service.redeem_link(db, other, NOW, is_admin=admins(1, 2)) is Refused.used
        assert await _actions(db) == []
    finally:
        await db.close()


async def test_a_session_lasts_twelve_hours_and_ends_on_sign_out(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        session = await service.redeem_link(
            db, await service.issue_link(db, 1, NOW), NOW, is_admin=admins(1)
        )
        assert isinstance(session, service.Session)
        late = NOW + SESSION_TTL - timedelta(seconds=1)
        found = await service.current_session(db, session.token, late, is_admin=admins(1))
        assert found == session
        assert await service.current_session(
            db, session.token, NOW + SESSION_TTL, is_admin=admins(1)
        ) is (Refused.expired)
        assert await service.current_session(db, None, NOW, is_admin=admins(1)) is Refused.unknown
        assert await service.current_session(db, "x", NOW, is_admin=admins(1)) is Refused.unknown
        await service.sign_out(db, session, NOW)
        assert await service.current_session(db, session.token, NOW, is_admin=admins(1)) is (
            Refused.ended
        )
        assert await _actions(db) == [(1, "signed_in"), (1, "signed_out")]
    finally:
        await db.close()


async def test_a_removed_admin_loses_the_session_at_once(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        session = await service.redeem_link(
            db, await service.issue_link(db, 1, NOW), NOW, is_admin=admins(1)
        )
        assert isinstance(session, service.Session)
        assert await service.current_session(db, session.token, NOW, is_admin=admins()) is (
            Refused.not_admin
        )
        # Ended, so it does not come back if the id is added again.
        assert await service.current_session(db, session.token, NOW, is_admin=admins(1)) is (
            Refused.ended
        )
        assert await _actions(db) == [(1, "signed_in"), (1, "session_ended")]
    finally:
        await db.close()


async def test_mini_app_sign_in(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        session = await service.webapp_session(db, init_data(1), BOT_TOKEN, NOW, is_admin=admins(1))
        assert isinstance(session, service.Session)
        assert session.admin_id == 1
        assert await service.webapp_session(
            db, init_data(5), BOT_TOKEN, NOW, is_admin=admins(1)
        ) is (Refused.not_admin)
        forged = init_data(1, token="1:forged")
        assert await service.webapp_session(db, forged, BOT_TOKEN, NOW, is_admin=admins(1)) is (
            Refused.bad_signature
        )
    finally:
        await db.close()
