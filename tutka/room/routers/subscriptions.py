"""Subscriptions, as staff manage them in the room: within their organisation and scope."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Response
from fastapi import Path as PathParam

from tutka.models.access import Principal
from tutka.models.subscriptions import (
    ScopeError,
    Subscription,
    SubscriptionId,
    SubscriptionRemoved,
    SubscriptionUpserted,
    check_scope,
    is_ely_owner,
)
from tutka.room.auth import User, deny, require
from tutka.room.context import Room
from tutka.room.schemas import ERRORS, Problem, SubscriptionRequest
from tutka.webhooks import check_webhook

router = APIRouter()

SubscriptionIdPath = Annotated[SubscriptionId, PathParam(description="a slug")]


def visible_subscription(user: Principal, subscription: Subscription) -> bool:
    return user.national or subscription.owner == user.organisation


@router.get("/api/subscriptions", response_model=list[Subscription], responses=ERRORS,
            tags=["subscriptions"])  # fmt: skip
def subscriptions(room: Room, user: User) -> list[Subscription]:
    """Your organisation's subscriptions (national staff: all of them)."""
    book = room.state.book()
    return sorted(
        (s for s in book.subscriptions.values() if visible_subscription(user, s)),
        key=lambda s: s.id,
    )


@router.put("/api/subscriptions/{subscription_id}", response_model=Subscription,
            responses={**ERRORS, 404: {"model": Problem}}, tags=["subscriptions"])  # fmt: skip
def put_subscription(
    room: Room, user: User, subscription_id: SubscriptionIdPath, request: SubscriptionRequest
) -> Subscription:
    """Create or replace a subscription, within your scope."""
    require(room, user, "manage_subscriptions")
    book = room.state.book()
    current = book.subscriptions.get(subscription_id)
    if current is not None and not visible_subscription(user, current):
        # As for an alert outside the scope: not a word on whose it is, or that it exists.
        room.service.metrics.denied.labels("404").inc()
        raise HTTPException(404, f"no subscription {subscription_id} of yours")
    # Replacing keeps the owner unless one is named: an edit does not move a subscription.
    owner = request.owner or (current.owner if current else user.organisation)
    if owner != user.organisation:
        require(room, user, "manage_others_subscriptions")
        if not user.national:
            raise deny(room, f"staff of {user.scope} manage only {user.scope}'s subscriptions")
    scope = request.scope or ("own" if is_ely_owner(owner) else "national")
    if scope == "national" and not user.national:
        raise deny(room, "only national staff may make a national subscription")
    known = book.revision(subscription_id)
    try:
        subscription = Subscription(
            id=subscription_id, owner=owner, scope=scope, filters=request.filters,
            delivery=request.delivery,
            created=current.created if current else date.today(),
            revision=0 if known is None else known + 1,
        )  # fmt: skip
        check_scope(subscription, room.hierarchy)
        check_webhook(subscription, room.webhook)
    except (ValueError, ScopeError) as exc:
        raise HTTPException(422, str(exc)) from exc
    room.service.record_subscription(SubscriptionUpserted(subscription=subscription))
    return subscription


@router.delete("/api/subscriptions/{subscription_id}", status_code=204,
               responses={**ERRORS, 404: {"model": Problem}}, tags=["subscriptions"])  # fmt: skip
def delete_subscription(room: Room, user: User, subscription_id: SubscriptionIdPath) -> Response:
    require(room, user, "manage_subscriptions")
    current = room.state.book().subscriptions.get(subscription_id)
    if current is None or not visible_subscription(user, current):
        raise HTTPException(404, f"no subscription {subscription_id}")
    if current.owner != user.organisation:
        require(room, user, "manage_others_subscriptions")
    removal = SubscriptionRemoved(
        id=subscription_id, revision=current.revision + 1, removed=date.today()
    )
    room.service.record_subscription(removal)
    return Response(status_code=204)
