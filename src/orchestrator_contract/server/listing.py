"""GET /Configurations: one page of the keyset walk, with its next/previous tokens.

Order is ascending (createdAt, id). A page after a cursor holds the first pageSize items past
it; a page before a cursor holds the last pageSize items before it. `nextToken` is present
exactly when some matching item follows the page, `previousToken` exactly when one precedes it
(for an empty page: follows/precedes the cursor position).
"""

from __future__ import annotations

from typing import Any

from orchestrator_contract.server.config import ServerConfig
from orchestrator_contract.server.errors import ApiError
from orchestrator_contract.server.faults import Fault
from orchestrator_contract.server.model import ConfigRecord, configuration_json
from orchestrator_contract.server.store import Store
from orchestrator_contract.server.tokens import Cursor, InvalidToken, TokenCodec, decode_offset, encode_offset

# For an empty page reached with a cursor: the cursor that continues on the other side.
_COMPLEMENT = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt"}
# Fault newest-first: "after" in a descending list is "before" in the store's ascending order.
_MIRROR = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}


def list_page(
    store: Store,
    codec: TokenCodec,
    config: ServerConfig,
    account: str,
    memory_store_id: str | None,
    page_size: int,
    token: str | None,
) -> dict[str, Any]:
    if config.has(Fault.OFFSET_PAGE_TOKENS):
        items, next_token, prev_token = _offset_page(store, account, memory_store_id, page_size, token)
    else:
        items, next_token, prev_token = _keyset_page(store, codec, config, account, memory_store_id, page_size, token)
    meta: dict[str, Any] = {
        "key": "configurations",
        "pageSize": page_size if config.has(Fault.META_PAGE_SIZE_REQUESTED) else len(items),
    }
    if next_token is not None:
        meta["nextToken"] = next_token
    elif config.has(Fault.EMPTY_NEXT_TOKEN):
        meta["nextToken"] = ""
    if prev_token is not None:
        meta["previousToken"] = prev_token
    fractional, leak = config.has(Fault.FRACTIONAL_TIMESTAMPS), config.has(Fault.LEAK_INTERNAL_FIELD)
    return {
        "configurations": [configuration_json(r, fractional=fractional, leak_account=leak) for r in items],
        "meta": meta,
    }


def _bad_token() -> ApiError:
    return ApiError(400, "pageToken is malformed or does not belong to this query")


def _keyset_page(
    store: Store,
    codec: TokenCodec,
    config: ServerConfig,
    account: str,
    memory_store_id: str | None,
    page_size: int,
    token: str | None,
) -> tuple[list[ConfigRecord], str | None, str | None]:
    cursor = None
    query_filter = memory_store_id
    # What a token is bound to: the account and the filter (the faults leave one out or add pageSize).
    bound_account = "" if config.has(Fault.FOREIGN_TOKEN_ACCEPTED) else account
    bound_filter = None if config.has(Fault.WRONG_FILTER_TOKEN_ACCEPTED) else memory_store_id
    bound_size = page_size if config.has(Fault.TOKEN_BOUND_TO_PAGE_SIZE) else None
    if token is not None:
        try:
            cursor = codec.decode(token, account=bound_account, memory_store_id=bound_filter, page_size=bound_size)
        except InvalidToken:
            raise _bad_token() from None
        if config.has(Fault.FILTER_LOST_ON_LATER_PAGES):
            query_filter = None
    owner: str | None = account
    if memory_store_id is not None and config.has(Fault.LIST_IGNORES_ACCOUNT_WITH_FILTER):
        owner = None
    descending = config.has(Fault.NEWEST_FIRST)

    def order(mode: str) -> str:
        return _MIRROR[mode] if descending else mode

    def token_for(mode: str, key: tuple[int, str]) -> str:
        return codec.encode(
            Cursor(mode, *key), account=bound_account, memory_store_id=bound_filter, page_size=bound_size
        )

    with store.lock:  # one consistent snapshot for the page and its neighbours
        if cursor is None or cursor.mode in ("gt", "ge"):
            rows = store.page(
                owner,
                query_filter,
                order(cursor.mode) if cursor else None,
                cursor.key if cursor else None,
                page_size + 1,
                descending=descending,
            )
            more_after = len(rows) > page_size
            items = rows[:page_size]
            more_before = None
        else:
            rows = store.page(owner, query_filter, order(cursor.mode), cursor.key, page_size + 1)
            more_before = len(rows) > page_size
            items = list(reversed(rows[:page_size]))
            more_after = None
        if items:
            first, last = (items[0].created_us, items[0].id), (items[-1].created_us, items[-1].id)
            if more_after is None:
                more_after = store.exists_beyond(owner, query_filter, order("gt"), last)
            if more_before is None:
                more_before = store.exists_beyond(owner, query_filter, order("lt"), first)
            next_token = token_for("gt", last) if more_after else None
            before_first = "le" if config.has(Fault.PREVIOUS_TOKEN_OFF_BY_ONE) else "lt"
            prev_token = token_for(before_first, first) if more_before else None
            return items, next_token, prev_token
        if cursor is None:
            return [], None, None
        other = _COMPLEMENT[cursor.mode]
        if not store.exists_beyond(owner, query_filter, order(other), cursor.key):
            return [], None, None
        if cursor.mode in ("gt", "ge"):
            return [], None, token_for(other, cursor.key)
        return [], token_for(other, cursor.key), None


def _offset_page(
    store: Store, account: str, memory_store_id: str | None, page_size: int, token: str | None
) -> tuple[list[ConfigRecord], str | None, str | None]:
    """Fault offset-page-tokens: LIMIT/OFFSET paging with unsigned, unbound tokens."""
    offset = 0
    if token is not None:
        try:
            offset = decode_offset(token)
        except InvalidToken:
            raise _bad_token() from None
    rows = store.page_by_offset(account, memory_store_id, offset, page_size + 1)
    items = rows[:page_size]
    next_token = encode_offset(offset + page_size) if len(rows) > page_size else None
    prev_token = encode_offset(max(0, offset - page_size)) if offset > 0 else None
    return items, next_token, prev_token
