# Kamailio for a ccfed site: Debian 12's Kamailio 5.6 with the evapi and jansson modules that
# services/kamailio/ccfed.cfg loads from /usr/lib/x86_64-linux-gnu/kamailio/modules (the same
# packages scripts/install.sh installs for local runs). The site's kamailio.cfg comes from a
# ConfigMap at run time, so one image serves every site.
#   docker build -f deploy/images/kamailio.Dockerfile -t registry.example.com/ccfed/kamailio:5.6 deploy/images
FROM debian:bookworm-slim
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    kamailio kamailio-extra-modules kamailio-json-modules kamailio-utils-modules \
  && rm -rf /var/lib/apt/lists/*
USER kamailio
