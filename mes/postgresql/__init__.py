"""Django's PostgreSQL backend with a connection pool that recovers at once after a database
restart (ENGINE "mes.postgresql"; settings use it when the pool is on)."""
