// Command gorilla is the gorilla/websocket peer server: the bench protocol (bench/peers/README.md)
// on net/http and gorilla/websocket.
//
//	GET /health      plain HTTP, answers "ok"
//	GET /room/NAME   WebSocket; every message a member sends goes to every member of NAME, sender
//	                 included, same opcode, in the order the room's hub received them
//	GET /any/other   WebSocket echo, same opcode
//
//	gorilla [--port P] [--threads N] [--deflate]
//	  --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
//	  --threads N   GOMAXPROCS (default 1)
//	  --deflate     negotiate permessage-deflate (default off)
//	example: gorilla --port 9001 --threads 1
//
// Prints "listening on PORT" once accepting; SIGINT/SIGTERM close the listener and exit 0.
//
// Rooms follow gorilla's chat example: one hub goroutine per room, and per member a read pump and a
// write pump goroutine joined by a buffered send channel (with the example's ping/pong keepalive and
// write deadline). A published message is wrapped once in a PreparedMessage, so its frame is
// encoded once for all members. Backpressure is the example's: when a member's send channel already
// holds sendQueueLen messages, the hub closes the channel and the write pump closes the connection.
// Echo is gorilla's echo example: one goroutine reading a message and writing it back.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

const (
	maxMessageSize = 16 << 20
	// Messages a member may have queued before the hub drops it (gorilla's chat example uses 256).
	sendQueueLen = 256
	// Keepalive timings from gorilla's chat example.
	writeWait  = 10 * time.Second
	pongWait   = 60 * time.Second
	pingPeriod = pongWait * 9 / 10
	// An echo connection keeps its read buffer between messages unless it grew past this.
	keptReadBuffer = 64 << 10
	roomPrefix     = "/room/"
)

// Write buffers come from a pool while a message is written instead of staying with each
// connection for its lifetime: gorilla's documented choice for many mostly idle connections.
var upgrader = websocket.Upgrader{
	WriteBufferPool: &sync.Pool{},
	CheckOrigin:     func(*http.Request) bool { return true },
}

// hub is one room: it owns the set of members and serialises their publishes.
type hub struct {
	name       string
	clients    map[*client]struct{}
	broadcast  chan *websocket.PreparedMessage
	register   chan *client
	unregister chan *client
	done       chan struct{}
	members    int // guarded by registry.mu
}

func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = struct{}{}
		case c := <-h.unregister:
			if _, ok := h.clients[c]; ok {
				delete(h.clients, c)
				close(c.send)
			}
		case pm := <-h.broadcast:
			for c := range h.clients {
				select {
				case c.send <- pm:
				default:
					close(c.send)
					delete(h.clients, c)
				}
			}
		case <-h.done:
			return
		}
	}
}

// registry maps room names to hubs; a hub lives while it has members.
type registry struct {
	mu   sync.Mutex
	hubs map[string]*hub
}

// join returns once the hub has added c, so a client that has seen its handshake response receives
// every later publish.
func (r *registry) join(name string, c *client) *hub {
	r.mu.Lock()
	h := r.hubs[name]
	if h == nil {
		h = &hub{
			name:       name,
			clients:    make(map[*client]struct{}),
			broadcast:  make(chan *websocket.PreparedMessage),
			register:   make(chan *client),
			unregister: make(chan *client),
			done:       make(chan struct{}),
		}
		r.hubs[name] = h
		go h.run()
	}
	h.members++
	r.mu.Unlock()
	h.register <- c
	return h
}

func (r *registry) leave(h *hub, c *client) {
	h.unregister <- c
	r.mu.Lock()
	h.members--
	if h.members == 0 {
		// Nobody else holds h: its last member has stopped reading, so nothing publishes to it.
		delete(r.hubs, h.name)
		close(h.done)
	}
	r.mu.Unlock()
}

// client is one room member.
type client struct {
	hub  *hub
	conn *websocket.Conn
	send chan *websocket.PreparedMessage
}

// readPump publishes every message the member sends; it ends when the connection fails or closes.
func (c *client) readPump(r *registry) {
	defer func() {
		r.leave(c.hub, c)
		c.conn.Close()
	}()
	c.conn.SetReadLimit(maxMessageSize)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		messageType, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		pm, err := websocket.NewPreparedMessage(messageType, data)
		if err != nil {
			return
		}
		c.hub.broadcast <- pm
	}
}

// writePump sends queued messages and keepalive pings; it is the only writer of c.conn.
func (c *client) writePump() {
	ticker := time.NewTicker(pingPeriod)
	defer func() {
		ticker.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case pm, ok := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if !ok {
				// The hub closed the channel: the member left or fell too far behind.
				c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			if err := c.conn.WritePreparedMessage(pm); err != nil {
				return
			}
		case <-ticker.C:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

func serveRoom(r *registry, w http.ResponseWriter, req *http.Request, name string) {
	c := &client{send: make(chan *websocket.PreparedMessage, sendQueueLen)}
	c.hub = r.join(name, c)
	conn, err := upgrader.Upgrade(w, req, nil)
	if err != nil {
		r.leave(c.hub, c)
		return
	}
	c.conn = conn
	go c.writePump()
	go c.readPump(r)
}

func serveEcho(w http.ResponseWriter, req *http.Request) {
	conn, err := upgrader.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetReadLimit(maxMessageSize)
	var buf bytes.Buffer
	for {
		messageType, reader, err := conn.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(reader); err != nil {
			return
		}
		if err := conn.WriteMessage(messageType, buf.Bytes()); err != nil {
			return
		}
		if buf.Cap() > keptReadBuffer {
			buf = bytes.Buffer{}
		}
	}
}

func main() {
	port := flag.Int("port", 9001, "TCP port on 0.0.0.0 (0 picks a free one)")
	threads := flag.Int("threads", 1, "GOMAXPROCS")
	deflate := flag.Bool("deflate", false, "negotiate permessage-deflate")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: gorilla [--port P] [--threads N] [--deflate]")
		flag.PrintDefaults()
		fmt.Fprintln(flag.CommandLine.Output(), "example: gorilla --port 9001 --threads 1")
	}
	flag.Parse()
	if flag.NArg() > 0 || *threads < 1 || *port < 0 || *port > 65535 {
		flag.Usage()
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*threads)
	upgrader.EnableCompression = *deflate

	rooms := &registry{hubs: make(map[string]*hub)}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, roomPrefix) {
			serveRoom(rooms, w, req, req.URL.Path[len(roomPrefix):])
			return
		}
		serveEcho(w, req)
	})

	ln, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", *port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gorilla: %v\n", err)
		os.Exit(1)
	}
	server := &http.Server{Handler: mux}
	fmt.Printf("listening on %d\n", ln.Addr().(*net.TCPAddr).Port)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		server.Close()
	}()
	if err := server.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintf(os.Stderr, "gorilla: %v\n", err)
		os.Exit(1)
	}
}
