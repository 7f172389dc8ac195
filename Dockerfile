# storybot: one image for `storybot run` (the default), the front (`run --listen-only`) and the
# workers (`worker`). Build: docker build -t storybot .   Run: see README, "Docker".
#
# Stage 1 builds the wheel, so the image holds exactly what `pip install` gives a user: the
# package with its seed story and config.example.toml as package data, no source tree.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md config.example.toml ./
COPY bot bot
COPY adapters adapters
COPY bench bench
COPY seeds seeds
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /dist /dist
RUN pip install --no-cache-dir /dist/*.whl && rm -rf /dist \
    && groupadd --system --gid 10001 storybot \
    && useradd --system --uid 10001 --gid storybot --no-create-home --shell /usr/sbin/nologin storybot \
    && mkdir -p /data /config && chown storybot:storybot /data
# the SQLite store (database = "/data/storybot.db") and any story files live in /data
VOLUME ["/data"]
WORKDIR /data
USER storybot:storybot
# /metrics and /healthz, when config.toml sets [storybot] metrics = "0.0.0.0:9464" (all of the
# container's interfaces, so Prometheus can scrape it; publish the port only where it should go)
EXPOSE 9464
# healthy: the store answers and the scheduler runs (a worker: the store and the queue answer).
# Without `metrics` set nothing listens and the container reports unhealthy.
ENV STORYBOT_HEALTH_URL=http://127.0.0.1:9464/healthz
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; u.urlopen(os.environ['STORYBOT_HEALTH_URL'], timeout=4); sys.exit(0)"]
# SIGTERM (docker stop): no new polls, those under way and sends in flight finish, exit 0.
# Give it longer than a fetch deadline: docker stop --time 45 (compose: stop_grace_period).
STOPSIGNAL SIGTERM
# config.toml is mounted at /config (read-only is fine); secrets come from the environment
# (docker run --env-file), never the image or the file. Plain one-line logs go to stderr;
# add --log-format json before `run` for JSON lines.
ENTRYPOINT ["storybot", "-c", "/config/config.toml"]
CMD ["run"]
