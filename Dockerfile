# The CrateDB destination for Fivetran as a container:
#   docker build -t cratedb-fivetran-destination .
#   docker run --rm -p 50052:50052 cratedb-fivetran-destination
# Extra flags replace the default command, e.g. `... cratedb-fivetran-destination --port 50052 --log-level WARNING`.
# Batch files are read from the paths Fivetran sends, so mount that directory at the same path.
# The wheel is built where a C compiler is (the full image), so it carries the native hot loops
# (destination/cratedb_destination/native.py); the slim runtime image only installs it.
FROM python:3.11 AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY destination ./destination
COPY proto ./proto
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes do not invalidate this layer.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --from=wheel /wheels /wheels
RUN pip install --no-deps /wheels/*.whl && rm -rf /wheels \
    && python -c "import cratedb_destination.server, fivetran_proto.destination_sdk_pb2_grpc" \
    && python -c "from cratedb_destination import native; assert native.ENABLED, 'native hot loops missing'"

RUN useradd --system --no-create-home --uid 10001 destination
USER destination

EXPOSE 50052
STOPSIGNAL SIGTERM
ENTRYPOINT ["cratedb-fivetran-destination"]
CMD ["--port", "50052"]
