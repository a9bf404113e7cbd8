# packpub in a container: the release's static binary on distroless/static, which adds only
# what a static binary needs: CA certificates, a /tmp (packpub packs and locks there), and a
# non-root user with a home (docker's config is looked up under it).
#
# The build context holds linux/amd64/packpub and linux/arm64/packpub, the release's musl
# binaries (.github/workflows/release.yml lays them out and builds both platforms). Nothing
# runs during the build, so no emulation is needed for the other platform.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/packpub /usr/local/bin/packpub
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/packpub"]
