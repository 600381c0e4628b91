// Package placementhttp serves the OpenStack Placement REST API
// (microversions 1.0 to 1.39, as Placement 8.0.0) over a placement.Engine,
// so that Placement clients (Nova- or Neutron-like schedulers and agents,
// gophercloud, the osc-placement CLI) can use the library as they use
// OpenStack Placement.
//
//	engine, _ := placement.New(store)
//	http.ListenAndServe("127.0.0.1:8778", placementhttp.NewHandler(engine))
//
// cmd/placement-api is a ready server; placementtest.NewServer starts one
// in a test.
//
// # Behaviour
//
// Every route of Placement's route table is served on a net/http ServeMux.
// The handler follows Placement's middleware order and rules:
//
//   - an X-Openstack-Request-Id (req-<uuid>) on every response, and one
//     access log record per request (log/slog, WithLogger);
//   - authentication of every path but "/" (WithAuthenticator: NoAuth2 by
//     default, TrustedProxy behind an authenticating proxy): 401 without
//     credentials;
//   - microversion negotiation from the OpenStack-API-Version header (no
//     header means 1.0, "latest" 1.39): an unparseable version is 400, an
//     unknown one 406; responses carry OpenStack-API-Version and successful
//     ones Vary: openstack-api-version;
//   - unknown paths 404; known paths with another method 405 with Allow;
//     routes newer than the requested microversion 404 (DELETE of all
//     inventories before 1.5: 405); Accept that excludes application/json
//     406; bodies that are not application/json 415; a body without
//     Content-Type 400; bodies over the limit (WithMaxBodyBytes, 1 MiB by
//     default) 413;
//   - authorization through Engine.Authorize (Placement 8.0.0's default
//     policy unless the Engine was given another Authorizer) before the body
//     is read: 403;
//   - request bodies and query strings validated with Placement's JSON
//     schemas: unknown fields and query parameters are 400, with Python
//     jsonschema's messages ("JSON does not validate: 0 is less than the
//     minimum of 1 ... Failed validating 'minimum' in
//     schema['properties']['total']");
//   - errors in Placement's format, {"errors": [{"status", "title",
//     "detail", "code" (from 1.23), "request_id"}]}, with Placement's
//     messages and codes (placement.concurrent_update, ...), or HTML/plain
//     text when the Accept header prefers them, as WebOb does;
//   - Location on creations, Last-Modified and Cache-Control: no-cache from
//     1.15, computed from the Engine's CreatedAt/UpdatedAt.
//
// Placement's own functional tests (the gabbi files of Placement 8.0.0 that
// need no pre-seeded fixture) pass against this handler: see .ci/gabbi.sh.
//
// Go's HTTP server refuses a request whose Content-Length is not an integer
// before any handler runs; LenientListener lets such requests reach the
// handler so that they get Placement's answer.
package placementhttp
