<?php
// A real third-party client for the end-to-end tests: Symfony's Mercure publisher
// (symfony/mercure, Debian's php-symfony-mercure) and Symfony HttpClient's EventSource client,
// used as an application would use them. Driven by symfony.test.mjs; one JSON object per line
// on stdout.
//
//   php symfony_client.php publish   < updates.json
//       HUB_URL, TOKEN; CLIENT=native|curl (HTTP client, default curl); CA_FILE for https.
//       stdin: [{topics, data, private, id, type, retry}, ...] -> per update
//       {"id": body, "http_version": ...} or {"error": message, "status": code}.
//   php symfony_client.php subscribe
//       SUBSCRIBE_URL; optional TOKEN (Authorization: Bearer), LAST_EVENT_ID, CA_FILE, COUNT
//       (events to print before exiting, default 1). Prints {"open": true, "status",
//       "http_version", "last_event_id": <response header or null>} then {"id", "type", "data",
//       "retry"} per event.

declare(strict_types=1);

require_once '/usr/share/php/Symfony/Component/Mercure/autoload.php';
require_once '/usr/share/php/Symfony/Component/HttpClient/autoload.php';

use Symfony\Component\HttpClient\Chunk\ServerSentEvent;
use Symfony\Component\HttpClient\CurlHttpClient;
use Symfony\Component\HttpClient\DecoratorTrait;
use Symfony\Component\HttpClient\EventSourceHttpClient;
use Symfony\Component\HttpClient\NativeHttpClient;
use Symfony\Component\Mercure\Hub;
use Symfony\Component\Mercure\Jwt\StaticTokenProvider;
use Symfony\Component\Mercure\Update;
use Symfony\Contracts\HttpClient\Exception\HttpExceptionInterface;
use Symfony\Contracts\HttpClient\HttpClientInterface;
use Symfony\Contracts\HttpClient\ResponseInterface;

// Keeps the last response, to report the HTTP version the publish was sent with.
final class RecordingClient implements HttpClientInterface
{
    use DecoratorTrait;

    public ?ResponseInterface $last = null;

    public function request(string $method, string $url, array $options = []): ResponseInterface
    {
        return $this->last = $this->client->request($method, $url, $options);
    }
}

function line(array $value): void
{
    echo json_encode($value, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR), "\n";
    flush();
}

function http_client(): HttpClientInterface
{
    $options = getenv('CA_FILE') ? ['cafile' => getenv('CA_FILE')] : [];
    return (getenv('CLIENT') ?: 'curl') === 'native' ? new NativeHttpClient($options) : new CurlHttpClient($options);
}

// "1.1" or "2". Curl's client reports curl's constant (CURL_HTTP_VERSION_1_1 = 2, _2_0 = 3).
function http_version(ResponseInterface $response): string
{
    $v = $response->getInfo('http_version');
    if (is_int($v)) return [1 => '1.0', 2 => '1.1', 3 => '2'][$v] ?? (string) $v;
    // The native client leaves it empty: its status line says.
    $status = $response->getInfo('response_headers')[0] ?? '';
    return (string) ($v ?: (preg_match('#^HTTP/([0-9.]+) #', $status, $m) ? $m[1] : ''));
}

function publish(): void
{
    $client = new RecordingClient(http_client());
    $hub = new Hub((string) getenv('HUB_URL'), new StaticTokenProvider((string) getenv('TOKEN')), null, null, $client);
    foreach (json_decode((string) stream_get_contents(STDIN), true, 16, JSON_THROW_ON_ERROR) as $u) {
        $update = new Update($u['topics'], $u['data'] ?? '', $u['private'] ?? false, $u['id'] ?? null, $u['type'] ?? null,
            $u['retry'] ?? null);
        try {
            $id = $hub->publish($update);
            line(['id' => $id, 'http_version' => http_version($client->last)]);
        } catch (\Throwable $e) {
            $cause = $e->getPrevious();
            line(['error' => $e->getMessage(),
                  'status' => $cause instanceof HttpExceptionInterface ? $cause->getResponse()->getStatusCode() : null]);
        }
    }
}

function subscribe(): void
{
    $client = new EventSourceHttpClient(http_client());
    $headers = [];
    if (getenv('TOKEN')) $headers['Authorization'] = 'Bearer ' . getenv('TOKEN');
    if (getenv('LAST_EVENT_ID')) $headers['Last-Event-ID'] = getenv('LAST_EVENT_ID');
    $source = $client->connect((string) getenv('SUBSCRIBE_URL'), ['headers' => $headers]);
    $left = (int) (getenv('COUNT') ?: 1);
    foreach ($client->stream($source, 10) as $chunk) {
        if ($chunk->isTimeout()) continue;
        if ($chunk->isFirst()) {
            line(['open' => true, 'status' => $source->getStatusCode(), 'http_version' => http_version($source),
                  'last_event_id' => $source->getHeaders(false)['last-event-id'][0] ?? null]);
            continue;
        }
        if ($chunk->isLast()) break;
        if (!$chunk instanceof ServerSentEvent) continue;  // a heartbeat comment
        line(['id' => $chunk->getId(), 'type' => $chunk->getType(), 'data' => $chunk->getData(),
              'retry' => $chunk->getRetry()]);
        if (--$left === 0) break;
    }
    $source->cancel();
}

match ($argv[1] ?? '') {
    'publish' => publish(),
    'subscribe' => subscribe(),
    default => fwrite(STDERR, "usage: php symfony_client.php publish|subscribe\n"),
};
