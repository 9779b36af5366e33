# The environment image of a Python model service (score.py): an Azure ML base image from MCR
# (CPU, or CUDA for services with gpuCores > 0) with conda, the service's conda or pip
# environment in a layer of its own, then Node.js and the scoring server, which runs the script's
# init()/run() in Python workers. Tagged by the environment hash (packaging/project.ts
# environmentKey, which hashes this file, the build arguments and the conda/pip file), so an
# unchanged environment is never rebuilt; a new score.py is not part of the image (the replica
# downloads its package at start).
# The context is the package's root folder; the conda or pip file comes from the named context
# `environment` (its folder; without one, this folder, and both arguments stay empty):
#   docker build -f scoring/python.Dockerfile --build-arg PYTHON_BASE_IMAGE=... --build-arg PYTHON_VERSION=3.11 \
#     --build-context environment=<folder of the file> [--build-arg CONDA_FILE=conda.yml | --build-arg PIP_REQUIREMENTS=requirements.txt] .
# Node.js 24 LTS, the official build: tag `24` as the image's README documents it
# (github.com/devcontainers/images, src/javascript-node/README.md).
ARG NODE_IMAGE=mcr.microsoft.com/devcontainers/javascript-node:24
ARG PYTHON_BASE_IMAGE=mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04

# The scoring server bundle, built with the project's lock file.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY images/package.json images/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY core ./core
COPY scoring ./scoring
COPY scripts/bundle.ts ./scripts/
RUN node_modules/.bin/tsx scripts/bundle.ts scoring /out/scoring.js \
 && mkdir -p /out/node_modules && cp -r node_modules/onnxruntime-node node_modules/onnxruntime-common /out/node_modules/ \
 && cp -r scoring/python /out/python \
 && cp "$(command -v node)" /out/node

FROM ${PYTHON_BASE_IMAGE}
# The environment first: it changes least often, so its layer is reused when only the server changes.
ARG PYTHON_VERSION=3.11
ARG CONDA_FILE=
ARG PIP_REQUIREMENTS=
# COPY needs a source even when the argument is empty: the Dockerfile itself stands in.
COPY --from=environment ${CONDA_FILE:-python.Dockerfile} /env/conda.yml
COPY --from=environment ${PIP_REQUIREMENTS:-python.Dockerfile} /env/requirements.txt
RUN set -eu; \
    if [ -n "${CONDA_FILE}" ]; then \
      conda env create -p /azureml-envs/service -f /env/conda.yml; \
    else \
      conda create -y -p /azureml-envs/service "python=${PYTHON_VERSION}" pip; \
      if [ -n "${PIP_REQUIREMENTS}" ]; then /azureml-envs/service/bin/pip install --no-cache-dir -r /env/requirements.txt; fi; \
    fi; \
    conda clean -afy; rm -rf /env
# Node.js (the official build, linked against an older glibc than the base's) and the server.
COPY --from=build /out/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /out/scoring.js ./
COPY --from=build /out/node_modules ./node_modules
COPY --from=build /out/python ./python
ENV NODE_ENV=production PORT=5001 AKS_INFERENCE_WORK_DIR=/tmp/aks-inference \
    AKS_INFERENCE_PYTHON=/azureml-envs/service/bin/python PATH=/azureml-envs/service/bin:$PATH
USER 1000:1000
EXPOSE 5001
ENTRYPOINT ["node", "/app/scoring.js"]
