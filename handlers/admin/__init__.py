"""Admin commands. The IsAdmin filter sits on this parent router, once for all of them."""

from __future__ import annotations

from aiogram import Router

from handlers.admin import (
    admins,
    alerts,
    cases,
    dashboard,
    plans,
    privacy,
    reports,
    survey_admin,
    targets,
)
from handlers.filters import IsAdmin


def get_admin_router() -> Router:
    router = Router(name="admin")
    router.message.filter(IsAdmin())
    router.callback_query.filter(IsAdmin())
    router.include_routers(
        survey_admin.routes.build(),
        reports.routes.build(),
        plans.routes.build(),  # before targets: `/target 23 Sales` is a department's target
        targets.routes.build(),
        alerts.routes.build(),
        cases.routes.build(),
        privacy.routes.build(),
        dashboard.routes.build(),
        admins.routes.build(),
    )
    return router
