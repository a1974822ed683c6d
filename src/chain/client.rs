//! An RPC client for the `TruffleRegistry` contract (alloy).

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, TxHash};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{BlockId, Filter};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use anyhow::Context as _;

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    TruffleRegistry,
    "contracts/artifacts/TruffleRegistry.json"
);

/// Where an event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landed {
    pub tx_hash: TxHash,
    pub block_number: u64,
}

/// A connection to one chain and one registry. Reads need no key; writes use the anchoring key.
#[derive(Clone)]
pub struct ChainClient {
    provider: DynProvider,
    registry: Address,
    pub chain_id: u64,
    /// The state the registry's views read: the latest block unless [`ChainClient::reading_at`]
    /// pins another.
    read_at: BlockId,
}

fn url(rpc_url: &str) -> anyhow::Result<reqwest::Url> {
    rpc_url
        .parse()
        .with_context(|| format!("{rpc_url:?} is not a URL"))
}

impl ChainClient {
    /// A read-only client (for verification).
    pub fn read_only(rpc_url: &str, registry: Address, chain_id: u64) -> anyhow::Result<Self> {
        let provider = ProviderBuilder::new().connect_http(url(rpc_url)?).erased();
        Ok(ChainClient {
            provider,
            registry,
            chain_id,
            read_at: BlockId::latest(),
        })
    }

    /// A client that signs transactions with the anchoring key.
    pub fn with_signer(
        rpc_url: &str,
        registry: Address,
        chain_id: u64,
        key: &str,
    ) -> anyhow::Result<Self> {
        let signer: PrivateKeySigner = key.parse().context("anchoring key")?;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url(rpc_url)?)
            .erased();
        Ok(ChainClient {
            provider,
            registry,
            chain_id,
            read_at: BlockId::latest(),
        })
    }

    pub fn registry(&self) -> Address {
        self.registry
    }

    /// This client with the registry's views (`anchoredAt`, `revokedAt`, `raffles`) read in the
    /// state after block `number`, as a verifier reads them a number of confirmations deep.
    pub fn reading_at(&self, number: u64) -> ChainClient {
        ChainClient {
            read_at: BlockId::number(number),
            ..self.clone()
        }
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    fn contract(&self) -> TruffleRegistry::TruffleRegistryInstance<&DynProvider> {
        TruffleRegistry::new(self.registry, &self.provider)
    }

    pub async fn rpc_chain_id(&self) -> anyhow::Result<u64> {
        Ok(self.provider.get_chain_id().await?)
    }

    pub async fn block_number(&self) -> anyhow::Result<u64> {
        Ok(self.provider.get_block_number().await?)
    }

    /// Is there contract code at the registry address?
    pub async fn registry_deployed(&self) -> anyhow::Result<bool> {
        Ok(!self.provider.get_code_at(self.registry).await?.is_empty())
    }

    /// Block time at which `root` was anchored; 0 when it was not.
    pub async fn anchored_at(&self, root: B256) -> anyhow::Result<u64> {
        Ok(self
            .contract()
            .anchoredAt(root)
            .block(self.read_at)
            .call()
            .await?)
    }

    /// Whether the registry allows `account` to anchor (the key that signs transfer records).
    pub async fn is_anchorer(&self, account: Address) -> anyhow::Result<bool> {
        Ok(self
            .contract()
            .isAnchorer(account)
            .block(self.read_at)
            .call()
            .await?)
    }

    /// Block time at which the record `content_hash` was revoked; 0 when it was not.
    pub async fn revoked_at(&self, content_hash: B256) -> anyhow::Result<u64> {
        Ok(self
            .contract()
            .revokedAt(content_hash)
            .block(self.read_at)
            .call()
            .await?)
    }

    /// Sends `anchor(root)` and returns once the node has accepted it (not mined).
    pub async fn send_anchor(&self, root: B256) -> anyhow::Result<TxHash> {
        let pending = self.contract().anchor(root).send().await?;
        Ok(*pending.tx_hash())
    }

    pub async fn send_revoke(&self, content_hash: B256) -> anyhow::Result<TxHash> {
        let pending = self.contract().revoke(content_hash).send().await?;
        Ok(*pending.tx_hash())
    }

    /// The `Anchored` event of `root`, wherever it is on chain.
    pub async fn find_anchored(&self, root: B256) -> anyhow::Result<Option<Landed>> {
        self.find_event(TruffleRegistry::Anchored::SIGNATURE_HASH, root)
            .await
    }

    pub async fn find_revoked(&self, content_hash: B256) -> anyhow::Result<Option<Landed>> {
        self.find_event(TruffleRegistry::Revoked::SIGNATURE_HASH, content_hash)
            .await
    }

    async fn find_event(&self, signature: B256, topic1: B256) -> anyhow::Result<Option<Landed>> {
        let filter = Filter::new()
            .address(self.registry)
            .event_signature(signature)
            .topic1(topic1)
            .from_block(0);
        let logs = self.provider.get_logs(&filter).await?;
        Ok(logs.first().and_then(|log| {
            Some(Landed {
                tx_hash: log.transaction_hash?,
                block_number: log.block_number?,
            })
        }))
    }

    /// The block's timestamp (seconds).
    pub async fn block_time(&self, number: u64) -> anyhow::Result<u64> {
        let block = self
            .provider
            .get_block_by_number(number.into())
            .await?
            .with_context(|| format!("block {number} not found"))?;
        Ok(block.header.timestamp)
    }

    /// Gas used by a mined transaction.
    pub async fn gas_used(&self, tx: TxHash) -> anyhow::Result<Option<u64>> {
        Ok(self
            .provider
            .get_transaction_receipt(tx)
            .await?
            .map(|r| r.gas_used))
    }
}

/// A raffle as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnChainRaffle {
    pub product_content_hash: B256,
    pub seed_hash: B256,
    pub closes_at: u64,
    pub winners: u32,
    pub ticket_count: u32,
    pub ticket_root: B256,
    pub close_block: u64,
    pub randomness: B256,
    /// 0 none, 1 committed, 2 closed, 3 revealed, 4 void, 5 empty, 6 cancelled.
    pub state: u8,
}

impl ChainClient {
    pub async fn raffle(
        &self,
        id: alloy::primitives::FixedBytes<16>,
    ) -> anyhow::Result<OnChainRaffle> {
        let r = self
            .contract()
            .raffles(id)
            .block(self.read_at)
            .call()
            .await?;
        Ok(OnChainRaffle {
            product_content_hash: r.productContentHash,
            seed_hash: r.seedHash,
            closes_at: r.closesAt,
            winners: r.winners,
            ticket_count: r.ticketCount,
            ticket_root: r.ticketRoot,
            close_block: r.closeBlock,
            randomness: r.randomness,
            state: r.state,
        })
    }

    pub async fn send_commit_raffle(
        &self,
        id: alloy::primitives::FixedBytes<16>,
        product: B256,
        seed_hash: B256,
        closes_at: u64,
        winners: u32,
    ) -> anyhow::Result<TxHash> {
        let pending = self
            .contract()
            .commitRaffle(id, product, seed_hash, closes_at, winners)
            .send()
            .await?;
        Ok(*pending.tx_hash())
    }

    pub async fn send_close_raffle(
        &self,
        id: alloy::primitives::FixedBytes<16>,
        root: B256,
        count: u32,
    ) -> anyhow::Result<TxHash> {
        let pending = self.contract().closeRaffle(id, root, count).send().await?;
        Ok(*pending.tx_hash())
    }

    pub async fn send_reveal_seed(
        &self,
        id: alloy::primitives::FixedBytes<16>,
        seed: B256,
    ) -> anyhow::Result<TxHash> {
        let pending = self.contract().revealSeed(id, seed).send().await?;
        Ok(*pending.tx_hash())
    }

    pub async fn send_mark_void(
        &self,
        id: alloy::primitives::FixedBytes<16>,
    ) -> anyhow::Result<TxHash> {
        let pending = self.contract().markVoid(id).send().await?;
        Ok(*pending.tx_hash())
    }

    pub async fn send_cancel_raffle(
        &self,
        id: alloy::primitives::FixedBytes<16>,
    ) -> anyhow::Result<TxHash> {
        let pending = self.contract().cancelRaffle(id).send().await?;
        Ok(*pending.tx_hash())
    }

    /// The first event with this signature whose first indexed topic is `topic1`.
    pub async fn find_raffle_event(
        &self,
        signature: B256,
        raffle: alloy::primitives::FixedBytes<16>,
    ) -> anyhow::Result<Option<Landed>> {
        // Indexed bytes16 topics are left-aligned in 32 bytes.
        let mut topic = [0u8; 32];
        topic[..16].copy_from_slice(raffle.as_slice());
        self.find_event(signature, B256::from(topic)).await
    }

    /// The hash of block `number`.
    pub async fn block_hash(&self, number: u64) -> anyhow::Result<B256> {
        let block = self
            .provider
            .get_block_by_number(number.into())
            .await?
            .with_context(|| format!("block {number} not found"))?;
        Ok(block.header.hash)
    }

    /// The latest block's timestamp.
    pub async fn head_time(&self) -> anyhow::Result<u64> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .context("no latest block")?;
        Ok(block.header.timestamp)
    }
}

/// Deploys a registry whose first anchoring key is `anchorer`, signed by `deployer_key`.
pub async fn deploy_registry(
    rpc_url: &str,
    deployer_key: &str,
    anchorer: Address,
) -> anyhow::Result<Address> {
    let signer: PrivateKeySigner = deployer_key.parse().context("deployer key")?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url(rpc_url)?);
    let contract = tokio::time::timeout(
        Duration::from_secs(60),
        TruffleRegistry::deploy(&provider, anchorer),
    )
    .await
    .context("deploying the registry timed out")??;
    Ok(*contract.address())
}
