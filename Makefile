# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
NPM ?= npm
COMPOSE ?= docker compose

.PHONY: help run test install build migrate bench chaos services test-tools compose-up compose-down compose-logs clean

## help: list these targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## run: install what is missing, build, create the database if allowed, migrate, start every role on PORT (8001)
run: build services
	$(NPM) run db:setup
	$(NPM) start

## test: install what is missing (test tools too, as root), type-check, and run the whole suite against the local services
test: install services test-tools
	$(NPM) run typecheck
	$(NPM) test

## install: npm ci when package-lock.json or package.json changed since the last install
install: node_modules/.install-stamp

node_modules/.install-stamp: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

## build: compile TypeScript into dist/
build: install
	$(NPM) run build

## migrate: apply pending migrations to DATABASE_URL
migrate: build
	$(NPM) run migrate

## bench: run every benchmark and print its figures (about 8 minutes)
bench: install services
	$(NPM) run bench

## chaos: run the service as the Procfile does (2 per role) on private PostgreSQL, Redis and RabbitMQ, inject faults under traffic, check every promise (as root; CHAOS_DURATION_S, default 300)
chaos: install
	$(NPM) run chaos

## services: make sure PostgreSQL, Redis and RabbitMQ answer; start them with compose when Docker is there
services:
	@scripts/ensure-services.sh

## test-tools: install Chromium, oathtool and promtool when missing (as root with apt-get), else say what to install
test-tools:
	@scripts/ensure-test-tools.sh

## compose-up, compose-down, compose-logs: the whole stack with Docker Compose
compose-up:
	$(COMPOSE) up -d --wait

compose-down:
	$(COMPOSE) down

compose-logs:
	$(COMPOSE) logs -f --tail=200

## clean: remove the build and the install stamp
clean:
	rm -rf dist node_modules/.install-stamp
