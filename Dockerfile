# The CrateDB destination for Fivetran as a container:
#   docker build -t cratedb-fivetran-destination .
#   docker run --rm -p 50052:50052 cratedb-fivetran-destination
# Extra flags replace the default command, e.g. `... cratedb-fivetran-destination --port 50052 --log-level WARNING`.
# Batch files are read from the paths Fivetran sends, so mount that directory at the same path.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes do not invalidate this layer.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY pyproject.toml README.md ./
COPY destination ./destination
COPY proto ./proto
RUN pip install --no-deps . \
    && python -c "import cratedb_destination.server, fivetran_proto.destination_sdk_pb2_grpc"

RUN useradd --system --no-create-home --uid 10001 destination
USER destination

EXPOSE 50052
STOPSIGNAL SIGTERM
ENTRYPOINT ["cratedb-fivetran-destination"]
CMD ["--port", "50052"]
