# Production image of homeportal: one image for web, worker and beat. `COPY . .` takes the
# context minus .dockerignore, which keeps out the stand-ins (bpms_mock/ ...) and dev state.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HOMEPORTAL_VAR_DIR=/var/lib/homeportal DEBUG=False

# WeasyPrint's system libraries (Pango, HarfBuzz), fonts with Cyrillic and Kazakh letters,
# gettext for compiling translations, libpq for psycopg's fallbacks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libffi8 fonts-dejavu-core \
      gettext libpq5 openssl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml constraints.txt ./
RUN pip install -c constraints.txt . && useradd --system --home /app homeportal
COPY . .
RUN python manage.py compilemessages --ignore=.venv -v 0 \
 && SECRET_KEY=build-only python manage.py collectstatic --noinput -v 0 \
 && mkdir -p /var/lib/homeportal && chown -R homeportal /var/lib/homeportal

USER homeportal
EXPOSE 8000
CMD ["gunicorn", "homeportal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "900"]
