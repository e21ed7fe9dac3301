FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MES_VAR_DIR=/var/lib/mes
# Addresses whose X-Forwarded-For/-Proto uvicorn believes (it reads this variable itself): set
# it to the TLS proxy's address. "*" would let any client claim any address.
ENV FORWARDED_ALLOW_IPS=127.0.0.1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mes ./mes
COPY planning ./planning
COPY execution ./execution
COPY quality ./quality
COPY alerts ./alerts
COPY dashboards ./dashboards
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --system --home /var/lib/mes mes && mkdir -p /var/lib/mes && chown mes /var/lib/mes
USER mes
EXPOSE 8000
CMD ["python", "-m", "uvicorn", "mes.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--proxy-headers"]
