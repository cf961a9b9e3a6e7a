# rtpengine for a ccfed site: Debian 12's rtpengine-daemon 10.5 in userspace (the daemon only:
# the rtpengine metapackage would build a DKMS kernel module, which a container cannot load), the
# same package scripts/install.sh installs for local runs. Its command line comes from
# deploy/src/contact-center-site.ts (services/src/rtpengine/launcher.ts siteRtpengineArgs), so
# one image serves every site. curl is for the pod's startup probe: an ng ping over HTTP on
# loopback before Kamailio starts.
#   docker build -f deploy/images/rtpengine.Dockerfile -t registry.example.com/ccfed/rtpengine:10.5 deploy/images
FROM debian:bookworm-slim
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    rtpengine-daemon curl \
  && rm -rf /var/lib/apt/lists/*
USER rtpengine
