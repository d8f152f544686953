export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_h8
export REDIS_URL=redis://127.0.0.1:6379/8
export BLOOM_CELERY_QUEUE=bloom-test-h8 BLOOM_CACHE_PREFIX=bloom-test-h8
export DJANGO_SETTINGS_MODULE=bloom.settings.test
