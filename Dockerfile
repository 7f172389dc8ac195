# storybot: one image for the front (`storybot run --listen-only`) and the workers (`storybot worker`).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY adapters adapters
COPY bench bench
COPY seeds seeds
RUN pip install --no-cache-dir . && useradd --create-home storybot && mkdir /data && chown storybot /data
USER storybot
# config.toml is mounted at /config; secrets come from the environment, never the image
ENTRYPOINT ["storybot", "-c", "/config/config.toml"]
CMD ["run"]
