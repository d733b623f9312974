# The action's image. The runner builds it on every job that uses the action through
# `image: Dockerfile`, so it installs only the locked runtime requirements, from wheels.
#
# Base image: CPython 3.11 on Debian bookworm, slim, pinned by the digest of its multi-platform
# index as the official image publishes it (docker-library/repo-info,
# repos/python/remote/3.11-slim-bookworm.md: Python 3.11.16, built 2026-08-25). To refresh:
#   docker buildx imagetools inspect python:3.11-slim-bookworm --format '{{json .Manifest.Digest}}'
# or let Dependabot or Renovate (docker ecosystem) propose the new digest.
FROM python:3.11-slim-bookworm@sha256:fe556eaffd0d96abd8685b83bb8a69addd0dc730fa193669a7df0d49ddcfac02

# PYTHONUNBUFFERED: log lines reach the job log as they happen. MPLBACKEND: no display.
# MPLCONFIGDIR: matplotlib's config and font cache live in the image, not under HOME (the
# runner mounts its own HOME, and the command line may run as any user).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/opt/matplotlib \
    PYTHONPATH=/action

# requirements.lock pins every package, transitive ones included, by version and hash; the
# tests install the same file (scripts/setup). Wheels only: no compiler is needed, so none is
# installed or left behind. Building the font cache here saves each run seconds.
COPY requirements.lock /action/requirements.lock
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r /action/requirements.lock \
    && python -c "import matplotlib.font_manager" \
    && chmod -R a+rwX /opt/matplotlib

COPY action.yml entrypoint.py /action/
COPY ghaction_metrics/ /action/ghaction_metrics/
COPY templates/ /action/templates/

# No USER or WORKDIR: the runner mounts the workspace, runs the container as root with
# --workdir /github/workspace, and GitHub's docs for Docker actions advise against both.
# The command line runs with: docker run --entrypoint python IMAGE -m ghaction_metrics --help
ENTRYPOINT ["python", "/action/entrypoint.py"]
