# The action's image: the runner builds it on every job, so it stays small and only installs
# the pinned runtime requirements (the same file the tests install).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/opt/matplotlib

COPY requirements.txt /action/requirements.txt
RUN pip install --no-cache-dir -r /action/requirements.txt \
    && python -c "import matplotlib.font_manager"
# The line above builds matplotlib's font cache into MPLCONFIGDIR at build time, so a run
# does not spend seconds on it (and does not need a writable home for it).

COPY entrypoint.py /action/entrypoint.py
COPY ghaction_metrics/ /action/ghaction_metrics/
COPY templates/ /action/templates/

# No USER or WORKDIR: the runner mounts the workspace, runs the container as root with
# --workdir /github/workspace, and GitHub's docs for Docker actions advise against both.
ENTRYPOINT ["python", "/action/entrypoint.py"]
