# pytest-cryptoaudit with every extra: `pytest --cryptoaudit` over the folder mounted at /audit.
#   docker build -t cryptoaudit .
#   docker run --rm -v "$PWD:/audit" cryptoaudit --cryptoaudit-json /audit/evidence.json
# Both stages use the same base, pinned to a version tag, so the virtual environment built in the
# first runs unchanged in the second; compilers and build tools stay in the first.

FROM python:3.12.8-slim-bookworm AS build
WORKDIR /src
RUN python -m pip install --no-cache-dir build==1.2.2
COPY . .
RUN python -m build --wheel --outdir /dist \
    && python -m venv /opt/cryptoaudit \
    && /opt/cryptoaudit/bin/pip install --no-cache-dir "$(ls /dist/pytest_cryptoaudit-*.whl)[all]"

FROM python:3.12.8-slim-bookworm
LABEL org.opencontainers.image.title="pytest-cryptoaudit" \
      org.opencontainers.image.description="Cryptographic controls (CSA CCM/AICM CEK) as pytest test suites" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/pytest-cryptoaudit/pytest-cryptoaudit"
RUN useradd --create-home --uid 10001 --user-group cryptoaudit \
    && mkdir /audit && chown cryptoaudit:cryptoaudit /audit
COPY --from=build /opt/cryptoaudit /opt/cryptoaudit
ENV PATH="/opt/cryptoaudit/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /audit
# Numeric, so that a runtime can verify it is not root (Kubernetes runAsNonRoot).
USER 10001:10001
# The cache provider would write .pytest_cache into the mounted folder.
ENTRYPOINT ["pytest", "--cryptoaudit", "-p", "no:cacheprovider"]
CMD []
