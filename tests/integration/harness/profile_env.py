"""The environment of a built-in-profile run (docs/profile.md): every
variable the profile reads, and helpers that write them the way the real
services write theirs."""

# Every variable the profile reads, each also as NAME_FILE.  clean_env()
# sets the absent ones to "" (the profile treats empty as unset) so that
# nothing from the caller's environment leaks into a run.
PROFILE_VARS = ("CHAT_RAG_DATABASE_URL", "RAG_DATABASE_URL", "DATABASE_URL",
                "CHAT_DB_PASSWORD", "DB_PASSWORD", "CHAT_SCHEMA_DIR",
                "RAG_SCHEMA_DIR", "REDIS_URL", "REDIS_REQUEST_KEY",
                "CHAT_QUEUE_TYPE", "QUEUE_TYPE", "CHAT_API_URL",
                "CHAT_API_TOKEN", "JWT_SECRET", "CHAT_PROBE_USER",
                "CHAT_PROBE_THREAD_ID", "MOBIUS_TURN_DEADLINE_S",
                "CHAT_PROBE_INTERVAL")

# The profile's groups, in SPEC order: the four workers, then e2e.
GROUPS = ("chat-api", "chat-worker", "rag-chunking-worker",
          "rag-embedding-worker", "e2e")


def clean_env(**values):
    """The profile's variables all unset except values (and PREFLIGHT_*)."""
    env = {v: "" for v in PROFILE_VARS}
    env.update({v + "_FILE": "" for v in PROFILE_VARS})
    env.update({"PREFLIGHT_CONFIG": "", "PREFLIGHT_LISTEN": "",
                "PREFLIGHT_RUN_TOKEN": "", "PREFLIGHT_RUN_TOKEN_FILE": ""})
    env.update(values)
    return env


def socket_url(pg, db):
    """The Chat service's Cloud SQL form: driver in the scheme, no password,
    the socket folder (pg.socket_dir plays /cloudsql/PROJECT:REGION:INST) as
    ?host=, plus the harness port."""
    return "postgresql+psycopg2://mobius_app@/%s?host=%s&port=%d" % (
        db, pg.socket_dir, pg.port)
