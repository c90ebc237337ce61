"""Deliberate defects the reference server can be started with.

Each fault is a small, realistic bug that breaks exactly one clause of CONTRACT.md; the suites
must catch every one of them (mutation testing of the suites). Faults are members of the `Fault`
enum: the server asks `config.has(Fault.X)` at the single place where the defect lives, so a
misspelt fault is an AttributeError (and a mypy error), never a silently dead branch. Adding a
fault is one member here, its clause and description in `_INFO`, and one `if` where the bug would be.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from orchestrator_contract.contract.clauses import CLAUSES, Clause
from orchestrator_contract.contract.errors import UsageError


class Fault(StrEnum):
    WRONG_DEFAULT_PAGE_SIZE = "wrong-default-page-size"
    PAGE_SIZE_OFF_BY_ONE = "page-size-off-by-one"
    LEAK_INTERNAL_FIELD = "leak-internal-field"
    MISSING_ETAG = "missing-etag"
    FRACTIONAL_TIMESTAMPS = "fractional-timestamps"
    NO_VERSION_BUMP_ON_PATCH = "no-version-bump-on-patch"
    IDEMPOTENCY_IGNORES_BODY = "idempotency-ignores-body"
    REPLAY_NEW_OPERATION = "replay-new-operation"
    OFFSET_PAGE_TOKENS = "offset-page-tokens"
    FILTER_LOST_ON_LATER_PAGES = "filter-lost-on-later-pages"
    CROSS_ACCOUNT_FETCH = "cross-account-fetch"
    COMPLETED_BEFORE_VISIBLE = "completed-before-visible"
    OPERATION_NEVER_COMPLETES = "operation-never-completes"
    ACCEPTS_UNKNOWN_FIELDS = "accepts-unknown-fields"
    IF_MATCH_IGNORED = "if-match-ignored"
    NO_WWW_AUTHENTICATE = "no-www-authenticate"
    CONFLICT_NOT_DETECTED = "conflict-not-detected"
    DELETE_LEAVES_RESOURCE = "delete-leaves-resource"
    # -- Authentication and isolation
    API_KEY_REJECTED = "api-key-rejected"
    TOKEN_PREFIX_COMPARE = "token-prefix-compare"
    CROSS_ACCOUNT_403 = "cross-account-403"
    LIST_IGNORES_ACCOUNT_WITH_FILTER = "list-ignores-account-with-filter"
    ERROR_ECHOES_CREDENTIALS = "error-echoes-credentials"
    # -- Asynchronous operations
    ASYNC_VALIDATION = "async-validation"
    LOCATION_DIFFERS_FROM_STATUS_URL = "location-differs-from-status-url"
    CREATE_ID_MISMATCH = "create-id-mismatch"
    OPERATION_STATUS_URL_RELATIVE = "operation-status-url-relative"
    COMPLETED_AT_WHILE_PENDING = "completed-at-while-pending"
    TERMINAL_STATUS_FLIPS = "terminal-status-flips"
    FAILED_OP_ERROR_BODY = "failed-op-error-body"
    FOREIGN_OPERATION_VISIBLE = "foreign-operation-visible"
    SECOND_DELETE_ACCEPTED = "second-delete-accepted"
    FAILED_OP_BUMPS_VERSION = "failed-op-bumps-version"
    # -- Idempotency keys
    DUPLICATE_KEY_HEADER_FIRST_WINS = "duplicate-key-header-first-wins"
    LENIENT_KEY_FORMAT = "lenient-key-format"
    IDEMPOTENCY_KEY_CASE_INSENSITIVE = "idempotency-key-case-insensitive"
    REPLAY_AFTER_DELETE_404 = "replay-after-delete-404"
    FINGERPRINT_IGNORES_IF_MATCH = "fingerprint-ignores-if-match"
    IDEMPOTENCY_STORES_4XX = "idempotency-stores-4xx"
    IDEMPOTENCY_KEY_RACE = "idempotency-key-race"
    IDEMPOTENCY_KEYS_GLOBAL = "idempotency-keys-global"
    DEDUPE_WITHOUT_KEY = "dedupe-without-key"
    # -- Versions and optimistic locking
    REJECTED_WRITE_BUMPS_VERSION = "rejected-write-bumps-version"
    UPDATED_AT_NOT_BUMPED = "updated-at-not-bumped"
    CREATED_AT_CHANGES_ON_UPDATE = "created-at-changes-on-update"
    WEAK_ETAG = "weak-etag"
    WEAK_ETAG_MATCHES = "weak-etag-matches"
    IF_MATCH_UNQUOTED_ACCEPTED = "if-match-unquoted-accepted"
    POST_HONOURS_IF_MATCH = "post-honours-if-match"
    STALE_APPLY_NOT_RECHECKED = "stale-apply-not-rechecked"
    STALE_APPLY_FAILS_409 = "stale-apply-fails-409"
    # -- Pagination and filtering
    EMPTY_NEXT_TOKEN = "empty-next-token"
    META_PAGE_SIZE_REQUESTED = "meta-page-size-requested"
    NEWEST_FIRST = "newest-first"
    TOKEN_BOUND_TO_PAGE_SIZE = "token-bound-to-page-size"
    FOREIGN_TOKEN_ACCEPTED = "foreign-token-accepted"
    WRONG_FILTER_TOKEN_ACCEPTED = "wrong-filter-token-accepted"
    PREVIOUS_TOKEN_OFF_BY_ONE = "previous-token-off-by-one"
    # -- Exact bounds
    BODY_LIMIT_INCLUSIVE = "body-limit-inclusive"
    INTELLIGENCE_IDS_LIMIT_EXCLUSIVE = "intelligence-ids-limit-exclusive"
    PUT_STATUS_CALLBACKS_UNBOUNDED = "put-status-callbacks-unbounded"
    DESCRIPTION_LENGTH_UTF16 = "description-length-utf16"
    # -- Near misses of a pattern, format or enum
    GROUPING_TYPE_CASE_INSENSITIVE = "grouping-type-case-insensitive"
    DISPLAY_NAME_UNANCHORED_ON_PUT = "display-name-unanchored-on-put"
    CALLBACK_URL_RELATIVE_ACCEPTED = "callback-url-relative-accepted"
    IDEMPOTENCY_KEY_UUID_PARSE = "idempotency-key-uuid-parse"
    # -- Hostile structure and text
    RECURSIVE_BODY_SCAN = "recursive-body-scan"
    DESCRIPTION_CUT_AT_NUL = "description-cut-at-nul"
    METADATA_NON_BMP_REPLACED = "metadata-non-bmp-replaced"
    ERROR_DETAIL_HEADER = "error-detail-header"
    # -- Media types
    CONTENT_TYPE_CASE_SENSITIVE = "content-type-case-sensitive"
    MEDIA_TYPE_NOT_STRIPPED = "media-type-not-stripped"
    JSON_MEDIA_TYPE_PREFIX_MATCH = "json-media-type-prefix-match"
    # -- Exactness of filters and look-ups
    MEMORY_STORE_FILTER_NOCASE = "memory-store-filter-nocase"
    CONFIG_ID_PREFIX_LOOKUP = "config-id-prefix-lookup"
    OPERATION_ID_CASE_INSENSITIVE = "operation-id-case-insensitive"


@dataclass(frozen=True)
class FaultInfo:
    """A fault, the contract clause it breaks, and what the bug is."""

    name: str
    clause: Clause
    description: str


_INFO: dict[Fault, tuple[Clause, str]] = {
    Fault.WRONG_DEFAULT_PAGE_SIZE: (Clause.PAGE_SIZE, "A list without pageSize returns up to 20 items instead of 50."),
    Fault.PAGE_SIZE_OFF_BY_ONE: (Clause.PAGE_SIZE, "pageSize=1001 is accepted instead of answering 400."),
    Fault.LEAK_INTERNAL_FIELD: (Clause.RES_SHAPE, "The representation carries an internal `accountSid` member."),
    Fault.MISSING_ETAG: (Clause.VER_ETAG, "GET on a configuration answers without an ETag header."),
    Fault.FRACTIONAL_TIMESTAMPS: (
        Clause.RES_TIMESTAMP,
        "Timestamps carry microseconds (`2026-01-01T10:00:00.123456Z`).",
    ),
    Fault.NO_VERSION_BUMP_ON_PATCH: (Clause.VER_ARITH, "An applied PATCH leaves `version` unchanged."),
    Fault.IDEMPOTENCY_IGNORES_BODY: (
        Clause.IDEM_MISMATCH,
        "The idempotency fingerprint leaves out the body: a different body replays instead of 422.",
    ),
    Fault.REPLAY_NEW_OPERATION: (
        Clause.IDEM_REPLAY,
        "A replay answers with a new operation that applies the write again.",
    ),
    Fault.OFFSET_PAGE_TOKENS: (
        Clause.PAGE_KEYSET,
        "Page tokens are unsigned offsets: concurrent creates/deletes skip or repeat items, tampering is accepted.",
    ),
    Fault.FILTER_LOST_ON_LATER_PAGES: (
        Clause.PAGE_FILTER,
        "Pages reached with a pageToken no longer apply the memoryStoreId filter.",
    ),
    Fault.CROSS_ACCOUNT_FETCH: (
        Clause.AUTH_ISOLATION_404,
        "GET /Configurations/{id} finds another account's configuration (200 instead of 404).",
    ),
    Fault.COMPLETED_BEFORE_VISIBLE: (
        Clause.OPS_VISIBLE,
        "An operation reports COMPLETED about 300 ms before its effect is applied.",
    ),
    Fault.OPERATION_NEVER_COMPLETES: (
        Clause.OPS_TERMINAL,
        "The worker applies the effect but never records the terminal status: operations stay PENDING.",
    ),
    Fault.ACCEPTS_UNKNOWN_FIELDS: (
        Clause.ERR_400,
        "Unknown top-level request fields are silently dropped instead of answering 400.",
    ),
    Fault.IF_MATCH_IGNORED: (Clause.VER_IF_MATCH, "If-Match is not evaluated: stale conditional writes are applied."),
    Fault.NO_WWW_AUTHENTICATE: (Clause.AUTH_401, "401 responses lack the WWW-Authenticate header."),
    Fault.CONFLICT_NOT_DETECTED: (
        Clause.RES_CONFLICT,
        "A conversationsV1Bridge.serviceId already held by another configuration is accepted.",
    ),
    Fault.DELETE_LEAVES_RESOURCE: (
        Clause.OPS_DELETE,
        "A DELETE operation completes but the configuration stays (GET still 200).",
    ),
    Fault.API_KEY_REJECTED: (
        Clause.AUTH_BASIC,
        "Only Account SIDs are looked up: an API key SID with its secret gets 401.",
    ),
    Fault.TOKEN_PREFIX_COMPARE: (
        Clause.AUTH_401,
        "The secret is compared over the expected secret's length only (strncmp): the right token with "
        "anything appended is accepted.",
    ),
    Fault.CROSS_ACCOUNT_403: (
        Clause.AUTH_ISOLATION_404,
        "GET of another account's configuration answers 403 (the ownership check runs after the lookup).",
    ),
    Fault.LIST_IGNORES_ACCOUNT_WITH_FILTER: (
        Clause.AUTH_ISOLATION_LIST,
        "A list filtered by memoryStoreId forgets the account: it shows other accounts' configurations.",
    ),
    Fault.ERROR_ECHOES_CREDENTIALS: (
        Clause.AUTH_NO_ECHO,
        "The 401 message quotes the username and the secret that were sent.",
    ),
    Fault.ASYNC_VALIDATION: (
        Clause.OPS_SYNC,
        "PATCH bodies are validated by the worker: an invalid PATCH of an existing configuration answers "
        "202 and its operation FAILS with 400.",
    ),
    Fault.LOCATION_DIFFERS_FROM_STATUS_URL: (
        Clause.OPS_202,
        "The 202's Location header is the relative path of the operation, not the absolute statusUrl.",
    ),
    Fault.CREATE_ID_MISMATCH: (
        Clause.OPS_CREATE_ID,
        "The worker gives a new configuration a fresh id: related.configurationId of the create names nothing.",
    ),
    Fault.OPERATION_STATUS_URL_RELATIVE: (
        Clause.OPS_RESOURCE,
        "The operation resource's statusUrl is the request path, not the absolute URL the 202 gave.",
    ),
    Fault.COMPLETED_AT_WHILE_PENDING: (
        Clause.OPS_COMPLETED_AT,
        "A PENDING operation already shows completedAt (equal to its createdAt).",
    ),
    Fault.TERMINAL_STATUS_FLIPS: (
        Clause.OPS_TERMINAL,
        "Every third read of a finished operation comes from a lagging replica and says PENDING.",
    ),
    Fault.FAILED_OP_ERROR_BODY: (
        Clause.OPS_ERROR,
        "A FAILED operation's error is the API error body {code, message, more_info, status}, not RFC 9457.",
    ),
    Fault.FOREIGN_OPERATION_VISIBLE: (
        Clause.OPS_404,
        "GET /Operations/{id} finds another account's operation (200 instead of 404).",
    ),
    Fault.SECOND_DELETE_ACCEPTED: (
        Clause.OPS_DELETE,
        "DELETE is treated as idempotent: deleting a configuration that no longer exists answers 202.",
    ),
    Fault.FAILED_OP_BUMPS_VERSION: (
        Clause.OPS_FAILED_NOOP,
        "The worker bumps version before re-checking If-Match and keeps the bump when the operation FAILS.",
    ),
    Fault.DUPLICATE_KEY_HEADER_FIRST_WINS: (
        Clause.IDEM_FORMAT,
        "Several Idempotency-Key headers are not rejected: the first one is used.",
    ),
    Fault.LENIENT_KEY_FORMAT: (
        Clause.IDEM_FORMAT,
        "The Idempotency-Key pattern is matched at the start only: a UUID with anything appended is accepted.",
    ),
    Fault.IDEMPOTENCY_KEY_CASE_INSENSITIVE: (
        Clause.IDEM_REPLAY,
        "Idempotency keys are lower-cased before lookup: upper- and lower-case forms replay each other.",
    ),
    Fault.REPLAY_AFTER_DELETE_404: (
        Clause.IDEM_REPLAY,
        "The configuration is looked up before the idempotency key: a replay after a DELETE answers 404.",
    ),
    Fault.FINGERPRINT_IGNORES_IF_MATCH: (
        Clause.IDEM_MISMATCH,
        "The idempotency fingerprint leaves out If-Match: another If-Match replays instead of 422.",
    ),
    Fault.IDEMPOTENCY_STORES_4XX: (
        Clause.IDEM_4XX,
        "A key is recorded even when its request is rejected: the corrected retry with that key gets 422.",
    ),
    Fault.IDEMPOTENCY_KEY_RACE: (
        Clause.IDEM_CONCURRENT,
        "The key is checked, then (after an await) inserted, without a lock: concurrent requests with one "
        "key each create an operation.",
    ),
    Fault.IDEMPOTENCY_KEYS_GLOBAL: (
        Clause.IDEM_SCOPE,
        "Idempotency keys are stored without the account: another account's key replays its request.",
    ),
    Fault.DEDUPE_WITHOUT_KEY: (
        Clause.IDEM_NO_KEY,
        "A create without Idempotency-Key gets one derived from its body: identical keyless POSTs are deduplicated.",
    ),
    Fault.REJECTED_WRITE_BUMPS_VERSION: (
        Clause.VER_NOCHANGE,
        "A write rejected with 412 still bumps the configuration's version.",
    ),
    Fault.UPDATED_AT_NOT_BUMPED: (Clause.VER_TIMES, "An applied PUT or PATCH leaves updatedAt at its previous value."),
    Fault.CREATED_AT_CHANGES_ON_UPDATE: (
        Clause.VER_TIMES,
        "An applied PUT or PATCH sets createdAt to the write's time.",
    ),
    Fault.WEAK_ETAG: (Clause.VER_ETAG, 'GET answers a weak ETag, W/"<version>".'),
    Fault.WEAK_ETAG_MATCHES: (Clause.VER_IF_MATCH, 'If-Match compares weakly: W/"<version>" matches.'),
    Fault.IF_MATCH_UNQUOTED_ACCEPTED: (
        Clause.VER_IF_MATCH,
        "If-Match is split on commas and stripped of quotes: an unquoted or unterminated version matches.",
    ),
    Fault.POST_HONOURS_IF_MATCH: (
        Clause.VER_POST_IF_MATCH,
        "POST evaluates If-Match like the other writes: with no current resource it answers 412.",
    ),
    Fault.STALE_APPLY_NOT_RECHECKED: (
        Clause.VER_CONCURRENT,
        "If-Match is checked when the write is accepted but not again when it applies: concurrent "
        "conditional writes all apply.",
    ),
    Fault.STALE_APPLY_FAILS_409: (
        Clause.VER_STALE_APPLY,
        "A write made stale before it applies FAILS with error.status 409 instead of 412.",
    ),
    Fault.EMPTY_NEXT_TOKEN: (Clause.PAGE_BODY, 'The last page carries nextToken "" instead of leaving it out.'),
    Fault.META_PAGE_SIZE_REQUESTED: (
        Clause.PAGE_BODY,
        "meta.pageSize is the page size asked for, not the number of items in the page.",
    ),
    Fault.NEWEST_FIRST: (Clause.PAGE_ORDER, "Lists are ordered newest first (descending createdAt, id)."),
    Fault.TOKEN_BOUND_TO_PAGE_SIZE: (
        Clause.PAGE_TOKEN,
        "Page tokens are signed with the pageSize: a token used with another pageSize is 400.",
    ),
    Fault.FOREIGN_TOKEN_ACCEPTED: (
        Clause.PAGE_TOKEN_INVALID,
        "Page tokens are not bound to the account: another account's token is accepted.",
    ),
    Fault.WRONG_FILTER_TOKEN_ACCEPTED: (
        Clause.PAGE_TOKEN_INVALID,
        "Page tokens are not bound to the memoryStoreId filter: a token used with another filter is accepted.",
    ),
    Fault.PREVIOUS_TOKEN_OFF_BY_ONE: (
        Clause.PAGE_PREVIOUS,
        "previousToken points at the first item of the page (<=, not <): the previous page is shifted by one.",
    ),
    # -- Exact bounds
    Fault.BODY_LIMIT_INCLUSIVE: (
        Clause.ERR_413,
        "The body size check uses >= instead of >: a body of exactly 262144 bytes is answered 413.",
    ),
    Fault.INTELLIGENCE_IDS_LIMIT_EXCLUSIVE: (
        Clause.ERR_400,
        "intelligenceConfigurationIds is checked with len(ids) >= 5: exactly five ids (the maximum) is 400.",
    ),
    Fault.PUT_STATUS_CALLBACKS_UNBOUNDED: (
        Clause.ERR_400,
        "The PUT validator forgets statusCallbacks' maxItems: a PUT with three callbacks is accepted.",
    ),
    Fault.DESCRIPTION_LENGTH_UTF16: (
        Clause.ERR_400,
        "description's length is counted in UTF-16 code units (JavaScript's .length): 512 characters "
        "including one outside the BMP (an emoji) are 400.",
    ),
    # -- Near misses of a pattern, format or enum
    Fault.GROUPING_TYPE_CASE_INSENSITIVE: (
        Clause.ERR_EXACT,
        "conversationGroupingType is upper-cased before the enum lookup: group_by_profile is accepted "
        "(and stored as GROUP_BY_PROFILE).",
    ),
    Fault.DISPLAY_NAME_UNANCHORED_ON_PUT: (
        Clause.ERR_400,
        "PUT's displayName check uses re.match (anchored at the start only): a valid name followed by "
        "anything, such as 'Support!', is accepted on PUT.",
    ),
    Fault.CALLBACK_URL_RELATIVE_ACCEPTED: (
        Clause.ERR_400,
        "statusCallbacks[].url is only run through urlsplit, which parses nearly anything: a relative "
        "reference such as /callbacks or example.com/x is accepted.",
    ),
    Fault.IDEMPOTENCY_KEY_UUID_PARSE: (
        Clause.IDEM_FORMAT,
        "Idempotency-Key is validated with uuid.UUID(), which also takes braces, a urn:uuid: prefix or "
        "32 hex digits without hyphens.",
    ),
    # -- Hostile structure and text
    Fault.RECURSIVE_BODY_SCAN: (
        Clause.GEN_NO_5XX,
        "A recursive pre-scan of the whole body for lone surrogates, unknown members included, overflows "
        "the stack on deeply nested JSON: RecursionError, 500.",
    ),
    Fault.DESCRIPTION_CUT_AT_NUL: (
        Clause.RES_ROUNDTRIP,
        "description is stored through a NUL-terminated string: it is cut at the first U+0000.",
    ),
    Fault.METADATA_NON_BMP_REPLACED: (
        Clause.RES_ROUNDTRIP,
        "captureRules[].metadata values are stored as utf8mb3: characters outside the BMP (emoji) come back as U+FFFD.",
    ),
    Fault.ERROR_DETAIL_HEADER: (
        Clause.GEN_NO_5XX,
        "A rejected write repeats its 400 message in a Twilio-Error-Detail header, which must be "
        "Latin-1: a message quoting a non-Latin-1 field name fails to encode, 500.",
    ),
    # -- Media types
    Fault.CONTENT_TYPE_CASE_SENSITIVE: (
        Clause.ERR_415,
        "The media type is compared without lower-casing it: Application/JSON is answered 415.",
    ),
    Fault.MEDIA_TYPE_NOT_STRIPPED: (
        Clause.ERR_415,
        "The media type is cut at ';' but not stripped: 'application/json ; charset=utf-8' is answered 415.",
    ),
    Fault.JSON_MEDIA_TYPE_PREFIX_MATCH: (
        Clause.ERR_415,
        "The JSON media type pattern is applied with re.match (no end anchor): application/jsonx or "
        "application/json-seq are taken as JSON.",
    ),
    # -- Exactness of filters and look-ups
    Fault.MEMORY_STORE_FILTER_NOCASE: (
        Clause.ERR_EXACT,
        "The memory_store_id column is declared COLLATE NOCASE: the memoryStoreId filter also lists "
        "configurations whose memoryStoreId differs only in letter case.",
    ),
    Fault.CONFIG_ID_PREFIX_LOOKUP: (
        Clause.ERR_EXACT,
        "GET /Configurations/{id} falls back to \"short ids\" (id LIKE ? || '%', when one row matches): "
        "a prefix of an id answers 200.",
    ),
    Fault.OPERATION_ID_CASE_INSENSITIVE: (
        Clause.ERR_EXACT,
        "GET /Operations/{id} lower-cases the id before the look-up (ids are generated in lower case): "
        "the upper-case form of an operation id answers 200.",
    ),
}

FAULTS: dict[str, FaultInfo] = {f.value: FaultInfo(f.value, *_INFO[f]) for f in Fault}

for _name, _info in FAULTS.items():  # a typo in a clause id, or a fault without its entry, fails at import
    assert _info.clause in CLAUSES, f"fault {_name} names unknown clause {_info.clause}"
assert set(_INFO) == set(Fault), "every Fault member needs its clause and description"


def check_fault_names(names: Iterable[str]) -> frozenset[Fault]:
    """The faults named, or a UsageError (a ValueError) naming the unknown ones."""
    names = list(names)
    unknown = sorted(set(names) - FAULTS.keys())
    if unknown:
        raise UsageError(f"unknown fault(s) {', '.join(unknown)}; see `orchestrator-contract faults`")
    return frozenset(Fault(name) for name in names)
